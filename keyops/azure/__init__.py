"""Adapters between keyops and Azure: identity, the management API (ARM), Key Vault, data plane.

Each module wraps one Azure SDK behind a few methods over keyops' own frozen dataclasses, imports
the SDK lazily, and translates SDK exceptions into :mod:`keyops.errors` types at its edge
(:mod:`keyops.azure.errors`). Nothing above this package touches an Azure SDK type.
"""
