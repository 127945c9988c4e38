"""Step boundaries, where a test can stop the process to prove that a rerun converges.

The product reads no switch for this: :func:`boundary` calls the hook a test installed with
:func:`install_hook` (the test suite does it from a ``sitecustomize`` it puts on the child
process's path), and does nothing otherwise.
"""

from __future__ import annotations

from collections.abc import Callable

#: Every boundary, in protocol order.
BOUNDARIES = (
    "after-read",
    "after-lease",
    "after-decide",
    "before-regenerate",
    "after-regenerate",
    "after-test",
    "before-store",
    "after-store",
    "after-confirm",
    "after-revoke",
)

_hook: Callable[[str], None] | None = None


def install_hook(hook: Callable[[str], None] | None) -> None:
    """Call ``hook(name)`` at every boundary from now on (None removes it)."""
    global _hook
    _hook = hook


def boundary(name: str) -> None:
    """Mark a step boundary (calls the installed hook, if any)."""
    if _hook is not None:
        _hook(name)
