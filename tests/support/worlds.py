"""Worlds for scenarios the default one lacks: a person regenerating keys in the portal."""

from __future__ import annotations

from typing import Any

import tomllib

#: A person with the portal's rights on every account (regenerates keys by hand, as Microsoft's
#: leak response says): another principal than keyops', so the request log tells them apart.
OPERATOR = "portal-operator"
_OPERATOR_TOML = """
[[principals]]
name = "portal-operator"
client_id = "5f0c2d1e-7a43-4c1b-9e0d-3b7f2a6c8d41"
object_id = "c3e9a7b2-1d4f-4e8a-b6c5-9f2e0a1d3b74"
secret = "operator-emulator-secret-7e21"

[[role_assignments]]
principal = "portal-operator"
role = "Cognitive Services Contributor"
scope = "/subscriptions/SUBSCRIPTION"
"""


def operator_world() -> Any:
    """The default world plus :data:`OPERATOR`."""
    from keyops.emulator.world import default_world_text, parse_world

    text = default_world_text()
    subscription = tomllib.loads(text)["subscriptions"][0]["id"]
    extra = _OPERATOR_TOML.replace("SUBSCRIPTION", subscription)
    return parse_world(tomllib.loads(text + extra), "<default world + operator>")
