"""Who uses each key: evidence from Key Vault ``AuditEvent`` and Azure OpenAI ``RequestResponse``
logs, read through Azure Monitor Logs.

:mod:`keyops.consumers.evidence` holds the evidence model and :func:`gather_evidence`;
:mod:`keyops.consumers.source` the interface to the logs (implemented in
:mod:`keyops.azure.logs`); :mod:`keyops.consumers.queries` the KQL keyops sends and the parsing
of both column schemas; :mod:`keyops.consumers.coverage` the "no evidence" findings.
"""
