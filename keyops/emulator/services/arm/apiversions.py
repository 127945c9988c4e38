"""The api-versions Azure published for the resource types this emulator serves.

Sources (checked with the spec repository Azure/azure-rest-api-specs):

- Microsoft.CognitiveServices: every ``input-file`` of
  ``specification/cognitiveservices/resource-manager/readme.md`` (stable and preview folders).
  Deployments appeared in 2021-10-01, so older versions do not know the ``deployments`` type.
- Microsoft.Resources (subscriptions, tenants): ARM's own list, as its
  ``InvalidApiVersionParameter`` error printed it in 2024, plus 2024-11-01 (a later stable
  folder of ``Microsoft.Resources``). ``az login`` sends 2022-12-01.
- Microsoft.Authorization: the stable/preview folders that hold
  ``authorization-RoleAssignmentsCalls.json`` / ``authorization-RoleDefinitionsCalls.json``
  (or their older single-file equivalents).

Lists are newest first, as ARM prints them in its errors.
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
