"""The api-versions each emulated resource type accepts: the one table, with its sources.

A version outside its type's list gets Azure's refusal for that surface (ARM's
``NoRegisteredProviderFound``/``InvalidApiVersionParameter``, Key Vault's ``BadParameter``,
Monitor's ``InvalidApiVersion``...). The Azure OpenAI data plane's inference versions live with
its service (``services/openai/models.py``): they are a data-plane contract, not a resource type.

Sources (checked with the spec repository Azure/azure-rest-api-specs, and the defaults of the
clients users have; :data:`CLIENT_DEFAULTS` lists those, and a test sends each):

- Microsoft.CognitiveServices: every ``input-file`` of
  ``specification/cognitiveservices/resource-manager/readme.md`` (stable and preview folders).
  Deployments appeared in 2021-10-01, so older versions do not know the ``deployments`` type.
  Plus ``2026-05-15-preview``: the default of azure-mgmt-cognitiveservices 15.0.0b4, which the
  Azure CLI 2.91 bundles; real Azure answers it (public recordings of real traffic answer 200).
- Microsoft.Resources (subscriptions, tenants): ARM's own list, as its
  ``InvalidApiVersionParameter`` error printed it in 2024, plus 2024-11-01 (a later stable
  folder of ``Microsoft.Resources``). ``az login`` sends 2022-12-01.
- Microsoft.Authorization: the stable/preview folders that hold
  ``authorization-RoleAssignmentsCalls.json`` / ``authorization-RoleDefinitionsCalls.json``
  (or their older single-file equivalents).

- Microsoft.Insights metrics / metricDefinitions: ``specification/monitor/resource-manager/
  Microsoft.Insights/{stable,preview}/*/metrics_API.json`` (and metricDefinitions_API.json);
  metrics:getBatch: ``specification/monitor/data-plane/Microsoft.Insights/*/metricBatch.json``.
- Key Vault secrets (data plane): ``specification/keyvault/data-plane`` stable/ and preview/
  folders (Secrets/main.tsp), plus 2026-04-01, the default of azure-keyvault-secrets 4.12.

ARM lists are newest first, as ARM prints them in its errors.
"""

from __future__ import annotations

_CS_STABLE = (
    "2026-03-01",
    "2025-12-01",
    "2025-09-01",
    "2025-06-01",
    "2024-10-01",
    "2023-05-01",
    "2022-12-01",
    "2022-10-01",
    "2022-03-01",
    "2021-10-01",
    "2021-04-30",
    "2017-04-18",
)
_CS_PREVIEW = (
    "2026-05-15-preview",
    "2026-03-15-preview",
    "2026-01-15-preview",
    "2025-10-01-preview",
    "2025-07-01-preview",
    "2025-04-01-preview",
    "2024-06-01-preview",
    "2024-04-01-preview",
    "2023-10-01-preview",
    "2016-02-01-preview",
)

#: Microsoft.CognitiveServices/accounts (and listKeys/regenerateKey on them).
ACCOUNTS = tuple(sorted(_CS_STABLE + _CS_PREVIEW, reverse=True))
#: Microsoft.CognitiveServices/accounts/deployments (since 2021-10-01).
DEPLOYMENTS = tuple(v for v in ACCOUNTS if v >= "2021-10-01")

#: Microsoft.Resources: subscriptions and tenants.
RESOURCES = (
    "2024-11-01",
    "2024-08-01",
    "2024-06-01-preview",
    "2024-03-01",
    "2023-07-01",
    "2023-07-01-preview",
    "2023-03-01-preview",
    "2022-12-01",
    "2022-11-01-preview",
    "2022-09-01",
    "2022-06-01",
    "2022-05-01",
    "2022-03-01-preview",
    "2022-01-01",
    "2021-04-01",
    "2021-01-01",
    "2020-10-01",
    "2020-09-01",
    "2020-08-01",
    "2020-07-01",
    "2020-06-01",
    "2020-05-01",
    "2020-01-01",
    "2019-11-01",
    "2019-10-01",
    "2019-09-01",
    "2019-08-01",
    "2019-07-01",
    "2019-06-01",
    "2019-05-10",
    "2019-05-01",
    "2019-03-01",
    "2018-11-01",
    "2018-09-01",
    "2018-08-01",
    "2018-07-01",
    "2018-06-01",
    "2018-05-01",
    "2018-02-01",
    "2018-01-01",
    "2017-12-01",
    "2017-08-01",
    "2017-06-01",
    "2017-05-10",
    "2017-05-01",
    "2017-03-01",
    "2016-09-01",
    "2016-07-01",
    "2016-06-01",
    "2016-02-01",
    "2015-11-01",
    "2015-01-01",
    "2014-04-01-preview",
    "2014-04-01",
    "2014-01-01",
    "2013-03-01",
    "2014-02-26",
    "2014-04",
)

#: Microsoft.Authorization/roleAssignments.
ROLE_ASSIGNMENTS = (
    "2022-04-01",
    "2020-10-01-preview",
    "2020-08-01-preview",
    "2020-04-01-preview",
    "2020-03-01-preview",
    "2018-09-01-preview",
    "2018-01-01-preview",
    "2017-10-01-preview",
    "2015-07-01",
)
#: Microsoft.Authorization/roleDefinitions.
ROLE_DEFINITIONS = ("2022-05-01-preview", "2022-04-01", "2018-01-01-preview", "2015-07-01")

#: Microsoft.Insights/metrics (ARM).
METRICS = (
    "2016-09-01",
    "2017-05-01-preview",
    "2018-01-01",
    "2019-07-01",
    "2021-05-01",
    "2023-10-01",
    "2024-02-01",
)
#: Microsoft.Insights/metricDefinitions (ARM).
METRIC_DEFINITIONS = (
    "2016-03-01",
    "2017-05-01-preview",
    "2018-01-01",
    "2021-05-01",
    "2023-10-01",
    "2024-02-01",
)
#: metrics:getBatch on ``<region>.metrics.monitor.azure.com`` (data plane).
METRICS_BATCH = (
    "2023-03-01-preview",
    "2023-05-01-preview",
    "2023-08-01-preview",
    "2023-08-04-preview",
    "2023-09-01-preview",
    "2023-10-01",
    "2023-11-01-preview",
    "2024-02-01",
)

#: Key Vault secrets (data plane).
KEYVAULT_SECRETS = frozenset(
    {
        "2015-06-01",
        "2016-10-01",
        "7.0",
        "7.0-preview",
        "7.1",
        "7.1-preview",
        "7.2",
        "7.2-preview",
        "7.3",
        "7.3-preview",
        "7.4",
        "7.4-preview.1",
        "7.5",
        "7.5-preview.1",
        "7.6",
        "7.6-preview.1",
        "7.6-preview.2",
        "2025-06-01",
        "2025-06-01-preview",
        "2025-07-01",
        "2026-01-01-preview",
        "2026-03-01-preview",
        "2026-04-01",
        "2026-05-01-preview",
        "2026-07-01-preview",
    }
)
#: The version Key Vault names in its refusal of an unknown one.
KEYVAULT_LATEST = "2026-04-01"

#: The default api-version of each client users have, by (package and version, operation); each
#: must be in its type's list above. azure-monitor-query 2.0 has no metrics client any more (its
#: metrics moved to azure-monitor-querymetrics, listed); its logs API is not emulated.
CLIENT_DEFAULTS: dict[tuple[str, str], str] = {
    ("azure-mgmt-cognitiveservices 14.1.0 (keyops pins)", "accounts"): "2025-09-01",
    ("azure-mgmt-cognitiveservices 15.0.0b4 (Azure CLI 2.91)", "accounts"): "2026-05-15-preview",
    ("azure-keyvault-secrets 4.12", "secrets"): "2026-04-01",
    ("azure-mgmt-monitor 7.0", "metrics"): "2024-02-01",
    ("azure-monitor-querymetrics 1.0", "metrics:getBatch"): "2024-02-01",
    ("azure-mgmt-authorization 4.0", "roleAssignments"): "2022-04-01",
    ("azure-mgmt-authorization 4.0", "roleDefinitions"): "2022-04-01",
}
