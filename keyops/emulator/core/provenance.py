"""Who made what the world seeds: one deployer application, as a real subscription's resources
name the pipeline that created them (``systemData.createdBy``, a role assignment's
``createdBy``/``updatedBy``). Its id is fixed so answers are deterministic."""

from __future__ import annotations

import uuid

_NS = uuid.UUID("0f6b6f1e-6b65-796f-7073-2d70726f7600")


def deployer_id(tenant_id: str) -> str:
    """The client (and object) id of the application that deployed the world of ``tenant_id``."""
    return str(uuid.uuid5(_NS, f"{tenant_id.lower()}/deployer"))
