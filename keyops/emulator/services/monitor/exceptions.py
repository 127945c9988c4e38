"""Azure Monitor metrics errors, with the envelope each layer answers in.

The metrics provider itself answers flat ``{"code", "message"}`` bodies (its 2024-02-01 spec's
default response is common-types v1 ``ErrorResponse``; e.g. "Failed to find metric
configuration for provider: ..."). ARM's front door (authentication, authorization, api-version,
unknown resources) answers in ARM's envelope: those errors come from
``keyops.emulator.services.arm`` so both services answer alike.
"""

from __future__ import annotations

from keyops.emulator.core.errors import EmulatorHTTPError


def bad_request(message: str) -> EmulatorHTTPError:
    """A 400 of the metrics provider (flat body)."""
    return EmulatorHTTPError(400, {"code": "BadRequest", "message": message})


def unknown_metric(name: str, valid: list[str]) -> EmulatorHTTPError:
    """400 for a metric the resource type does not publish (Azure lists the valid ones)."""
    return bad_request(
        "Failed to find metric configuration for provider: Microsoft.CognitiveServices, "
        f"resource Type: accounts, metric: {name}, Valid metrics: {','.join(valid)}"
    )


def bad_namespace(namespace: str) -> EmulatorHTTPError:
    """400 for a ``metricnamespace`` the resource does not have."""
    return bad_request(
        f"Metric namespace: {namespace} is not valid for resource type: "
        "Microsoft.CognitiveServices/accounts"
    )
