"""Azure Key Vault secrets (data plane), one vault per ``/vaults/<name>`` prefix.

Spec: keyvault-secrets 2025-07-01 (``SetSecret``, ``GetSecret``, ``GetSecrets``,
``GetSecretVersions``, ``UpdateSecret``, ``DeleteSecret``, ``GetDeletedSecret(s)``,
``RecoverDeletedSecret``, ``PurgeDeletedSecret``). Backup/restore are not served.
"""

from keyops.emulator.app import Service
from keyops.emulator.services.keyvault.seeding import seed
from keyops.emulator.services.keyvault.urls import admin_routes, routes

SERVICE = Service(name="keyvault", routes=routes, admin_routes=admin_routes, seed=seed)
