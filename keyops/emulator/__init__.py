"""A local emulator of the Azure surfaces keyops uses, faithful at the wire level.

Entra ID (tokens, discovery, JWKS, workload identity, managed identity), ARM
(Microsoft.CognitiveServices accounts, keys, deployments; Microsoft.Authorization), Key Vault
secrets, the Azure OpenAI data plane and Azure Monitor metrics, all over HTTPS on one port.
The real Azure SDKs talk to it unchanged. Nothing else in keyops imports this package, except
the commands that start it (``keyops emulator``, ``keyops demo``).
"""
