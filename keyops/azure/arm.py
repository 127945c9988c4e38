"""Azure OpenAI / AI Services accounts through the management API (ARM).

Wraps ``azure-mgmt-cognitiveservices``: list and read accounts, list and regenerate their two key
slots, list their deployments. Results are keyops' frozen dataclasses; every key value is a
:class:`~keyops.secret.SecretValue`; every SDK exception leaves as a :mod:`keyops.errors` type
naming the account and the operation. The SDK is imported when a client is first used.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from keyops.azure.errors import azure_errors
from keyops.azure.pacing import Budget, RetryAfterGate, RetrySettings, client_kwargs
from keyops.azure.serverclock import ServerClock
from keyops.errors import ConfigError, RefusedError, ServiceError
from keyops.secret import SecretValue

#: A subscription id: a GUID.
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")

if TYPE_CHECKING:
    import requests
    from azure.core.credentials import TokenCredential

    from keyops.cloud import AzureEnvironment

#: Key slot names exactly as ARM spells them (case-sensitive on the wire).
KeySlot = Literal["Key1", "Key2"]
KEY_SLOTS: tuple[KeySlot, KeySlot] = ("Key1", "Key2")
#: Account kinds whose keys keyops manages.
OPENAI_KINDS = ("OpenAI", "AIServices")

_ACCOUNT_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.CognitiveServices/accounts/(?P<name>[^/]+)/?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class AccountRef:
    """Where an account lives: subscription, resource group and name."""

    subscription_id: str
    resource_group: str
    name: str

    @property
    def id(self) -> str:
        """The ARM resource id."""
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.CognitiveServices/accounts/{self.name}"
        )


class AccountChangedError(RefusedError):
    """A conditional write found the account changed since it was read; nothing was written."""


def parse_account_id(resource_id: str) -> AccountRef:
    """Split a Cognitive Services account resource id; a malformed one is a ConfigError."""
    match = _ACCOUNT_ID.match(resource_id.strip())
    if not match:
        raise ConfigError(
            f"malformed account resource id {resource_id!r} (expected /subscriptions/<id>/"
            "resourceGroups/<rg>/providers/Microsoft.CognitiveServices/accounts/<name>)"
        )
    return AccountRef(match["sub"], match["rg"], match["name"])


def other_slot(slot: KeySlot) -> KeySlot:
    """The other key slot."""
    return "Key2" if slot == "Key1" else "Key1"


def parse_slot(text: str) -> KeySlot:
    """``key1``/``Key1``/``1`` -> ``Key1``; anything else is a ValueError."""
    value = text.strip().lower().removeprefix("key")
    if value == "1":
        return "Key1"
    if value == "2":
        return "Key2"
    raise ValueError(f"not a key slot: {text!r} (expected Key1 or Key2)")


@dataclass(frozen=True)
class Account:
    """A Cognitive Services account as ARM describes it (no keys)."""

    id: str
    name: str
    subscription_id: str
    resource_group: str
    kind: str
    location: str
    endpoint: str
    custom_subdomain: str | None
    disable_local_auth: bool
    public_network_access: str | None
    tags: Mapping[str, str] = field(default_factory=dict, hash=False)
    #: ARM's etag of the resource as read (for an ``If-Match`` write), and when it was last
    #: written (``systemData.lastModifiedAt``); None when ARM did not say.
    etag: str | None = field(default=None, compare=False)
    modified_at: datetime | None = field(default=None, compare=False)

    @property
    def is_openai(self) -> bool:
        """Whether keyops manages this kind (OpenAI, AIServices)."""
        return self.kind.lower() in {k.lower() for k in OPENAI_KINDS}


@dataclass(frozen=True)
class AccountKeys:
    """Both key slots of an account, as listKeys or regenerateKey returns them."""

    key1: SecretValue
    key2: SecretValue

    def slot(self, name: KeySlot) -> SecretValue:
        """The value in slot ``Key1`` or ``Key2``."""
        return self.key1 if name == "Key1" else self.key2

    def slot_of(self, value: SecretValue) -> KeySlot | None:
        """Which slot holds ``value`` (compared in constant time), or None."""
        if value == self.key1:
            return "Key1"
        if value == self.key2:
            return "Key2"
        return None

    def slot_held_by(self, stored: SecretValue) -> KeySlot | None:
        """Which slot a stored secret holds: equal to its key, or equal but for whitespace
        around it (a newline pasted with the key). Consumers that strip what they read — most
        configuration loaders do — use that slot's key, so it counts as in use."""
        return self.slot_of(stored) or self.slot_of(stored.strip())


@dataclass(frozen=True)
class Deployment:
    """A model deployment of an account.

    ``api`` is what the deployment serves, from ARM's ``capabilities``: ``chat`` (chat
    completions), ``completions``, ``embeddings``, or None when ARM does not say.
    """

    name: str
    model: str
    version: str | None
    format: str | None
    sku: str | None
    api: str | None
    capabilities: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def is_chat(self) -> bool:
        """Whether a chat completion can smoke-test this deployment."""
        return self.api == "chat"


def _api_of(capabilities: Mapping[str, str]) -> str | None:
    def on(name: str) -> bool:
        return str(capabilities.get(name, "")).lower() == "true"

    if on("chatCompletion"):
        return "chat"
    if on("completion"):
        return "completions"
    if on("embeddings"):
        return "embeddings"
    return None


def _account_from(model: Any) -> Account:
    props = model.properties
    ref = parse_account_id(model.id)
    return Account(
        id=model.id,
        name=model.name,
        subscription_id=ref.subscription_id,
        resource_group=ref.resource_group,
        kind=model.kind or "",
        location=model.location or "",
        endpoint=(props.endpoint if props else None) or "",
        custom_subdomain=props.custom_sub_domain_name if props else None,
        disable_local_auth=bool(props.disable_local_auth) if props else False,
        public_network_access=props.public_network_access if props else None,
        tags=dict(model.tags or {}),
        etag=model.etag,
        modified_at=model.system_data.last_modified_at if model.system_data else None,
    )


def _deployment_from(model: Any) -> Deployment:
    props = model.properties
    dep_model = props.model if props else None
    capabilities = dict((props.capabilities if props else None) or {})
    return Deployment(
        name=model.name,
        model=(dep_model.name if dep_model else None) or "",
        version=dep_model.version if dep_model else None,
        format=dep_model.format if dep_model else None,
        sku=model.sku.name if model.sku else None,
        api=_api_of(capabilities),
        capabilities=capabilities,
    )


def _keys_from(model: Any) -> AccountKeys:
    return AccountKeys(key1=SecretValue(model.key1 or ""), key2=SecretValue(model.key2 or ""))


class AccountsClient:
    """Cognitive Services accounts of one subscription, through ARM.

    ``gate`` is shared across the clients of a fleet run so that one 429 slows every worker
    (see :mod:`keyops.azure.pacing`); ``retry`` tunes azure-core's retries.
    """

    def __init__(
        self,
        env: AzureEnvironment,
        credential: TokenCredential,
        subscription_id: str,
        *,
        gate: RetryAfterGate | None = None,
        retry: RetrySettings | None = None,
        session: requests.Session | None = None,
        budget: Budget | None = None,
    ) -> None:
        if not _GUID.match(subscription_id):
            # It goes into every ARM URL's path: "x/../../y" must never get that far.
            raise ConfigError(
                f"subscription {subscription_id!r} is not a subscription id (a GUID such as "
                "00000000-0000-0000-0000-000000000000); check --subscription, the "
                "configuration's subscription or AZURE_SUBSCRIPTION_ID"
            )
        self.env = env
        self.subscription_id = subscription_id
        self._credential = credential
        self._gate = gate
        self._retry = retry
        self._session = session
        self._budget = budget
        self._client: Any = None
        #: ARM's time as its ``get_account`` answers show it (decisions against
        #: ``lastModifiedAt`` are made on it, whatever this machine's clock says).
        self.clock = ServerClock()

    def with_subscription(self, subscription_id: str) -> AccountsClient:
        """A client for another subscription with the same credential, gate and retries."""
        return AccountsClient(
            self.env,
            self._credential,
            subscription_id,
            gate=self._gate,
            retry=self._retry,
            session=self._session,
            budget=self._budget,
        )

    @property
    def sdk(self) -> Any:
        """The underlying ``CognitiveServicesManagementClient`` (made on first use)."""
        if self._client is None:
            from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

            self._client = CognitiveServicesManagementClient(
                self._credential,
                self.subscription_id,
                base_url=self.env.resource_manager,
                credential_scopes=[self.env.management_scope],
                **client_kwargs(
                    self.env.verify,
                    self._gate,
                    self._retry,
                    session=self._session,
                    budget=(self._budget, "arm") if self._budget else None,
                ),
            )
        return self._client

    def _ref(self, resource_id: str) -> AccountRef:
        return parse_account_id(resource_id)

    def list_accounts(self, resource_group: str | None = None) -> list[Account]:
        """Every account of the subscription (or of one resource group), in ARM's order."""
        scope = (
            f"resource group {resource_group}"
            if resource_group
            else (f"subscription {self.subscription_id}")
        )
        with azure_errors("list accounts", scope):
            accounts = self.sdk.accounts
            pages = (
                accounts.list_by_resource_group(resource_group)
                if resource_group
                else accounts.list()
            )
            return [_account_from(m) for m in pages]

    def get_account(self, resource_id: str) -> Account:
        """One account by resource id (NotFoundError if it does not exist)."""
        ref = self._ref(resource_id)
        with azure_errors("get account", f"account {ref.name}"):
            model = self.sdk.accounts.get(
                ref.resource_group, ref.name, raw_response_hook=self.clock.response_hook
            )
            return _account_from(model)

    def set_disable_local_auth(self, resource_id: str, disabled: bool, *, if_match: str) -> Account:
        """PATCH only ``properties.disableLocalAuth``, refused unless the account still has the
        etag ``if_match`` (someone who wrote it since is never overwritten).

        The spec's Accounts_Update takes no ``If-Match`` parameter, so the header rides on
        azure-core's per-call ``headers``. A 412 leaves as :class:`AccountChangedError`.
        """
        from azure.core.exceptions import HttpResponseError
        from azure.mgmt.cognitiveservices.models import Account as AccountModel
        from azure.mgmt.cognitiveservices.models import AccountProperties

        ref = self._ref(resource_id)
        patch = AccountModel(properties=AccountProperties(disable_local_auth=disabled))
        try:
            with azure_errors("update disableLocalAuth", f"account {ref.name}"):
                poller = self.sdk.accounts.begin_update(
                    ref.resource_group, ref.name, patch, headers={"If-Match": if_match}
                )
                return _account_from(poller.result())
        except ServiceError as exc:
            cause = exc.__cause__
            if isinstance(cause, HttpResponseError) and cause.status_code == 412:
                raise AccountChangedError(
                    f"account {ref.name} was changed by someone else since keyops read it "
                    "(its etag moved); nothing changed: rerun to decide on what it is now"
                ) from None
            raise

    def list_keys(self, resource_id: str) -> AccountKeys:
        """Both keys of an account (ARM ``listKeys``; needs ``accounts/listKeys/action``)."""
        ref = self._ref(resource_id)
        with azure_errors("listKeys", f"account {ref.name}"):
            return _keys_from(self.sdk.accounts.list_keys(ref.resource_group, ref.name))

    def regenerate_key(self, resource_id: str, slot: KeySlot) -> AccountKeys:
        """Regenerate one slot; returns both keys as they are afterwards.

        The SDK 14.1 takes the key name itself (``"Key1"``), not a parameters model.
        """
        if slot not in KEY_SLOTS:
            raise ValueError(f"not a key slot: {slot!r}")
        ref = self._ref(resource_id)
        with azure_errors(f"regenerateKey {slot}", f"account {ref.name}"):
            return _keys_from(self.sdk.accounts.regenerate_key(ref.resource_group, ref.name, slot))

    def list_deployments(self, resource_id: str) -> list[Deployment]:
        """The account's model deployments, in ARM's order."""
        ref = self._ref(resource_id)
        with azure_errors("list deployments", f"account {ref.name}"):
            return [
                _deployment_from(m) for m in self.sdk.deployments.list(ref.resource_group, ref.name)
            ]

    def close(self) -> None:
        """Close the HTTP session."""
        if self._client is not None:
            self._client.close()
