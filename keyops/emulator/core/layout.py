"""Where each emulated thing lives on the one HTTPS port (shared by services and connection.json).

Many accounts and vaults share one port by path prefix; the SDKs keep a base URL's path.
"""

from __future__ import annotations

from keyops.emulator.world import Account


def account_endpoint(base_url: str, account: Account) -> str:
    """The data-plane endpoint ARM reports for an account (trailing slash, as Azure's).

    A custom subdomain gets its own prefix (``/aoai/<subdomain>/``); without one the account
    answers on its region's shared endpoint (``/regional/<location>/``), where only the key
    tells accounts apart, as on ``https://<region>.api.cognitive.microsoft.com/``.
    """
    if account.custom_subdomain:
        return f"{base_url}/aoai/{account.custom_subdomain.lower()}/"
    return f"{base_url}/regional/{account.location.lower()}/"


def vault_url(base_url: str, vault_name: str) -> str:
    """A vault's URL (no trailing slash, as ``SecretClient(vault_url=...)`` takes it)."""
    return f"{base_url}/vaults/{vault_name.lower()}"


def issuer_url(base_url: str, issuer_name: str) -> str:
    """The URL of an emulator-hosted OIDC test issuer (a CI runner's token service)."""
    return f"{base_url}/_issuer/{issuer_name}"


def managed_identity_endpoint(base_url: str) -> str:
    """The App Service style managed identity endpoint (``IDENTITY_ENDPOINT``)."""
    return f"{base_url}/_msi/token"
