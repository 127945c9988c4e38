"""Another actor, or Ctrl-C, at a step boundary of a rotation run in this process: the hook acts
where the run stands (keyops.rotate.hooks), so per-test coverage credits the lines it pins."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from keyops.rotate.hooks import install_hook


@contextmanager
def at_boundary(boundary: str, act: Callable[[], object]) -> Iterator[None]:
    """Run ``act`` once when the rotation inside the block reaches ``boundary``."""
    done: list[str] = []

    def hook(name: str) -> None:
        if name == boundary and not done:
            done.append(name)
            act()

    install_hook(hook)
    try:
        yield
    finally:
        install_hook(None)
    assert done, f"the run never reached {boundary}"


@contextmanager
def interrupted_at(boundary: str) -> Iterator[None]:
    """Ctrl-C at ``boundary`` of the run inside the block."""

    def stop(name: str) -> None:
        if name == boundary:
            raise KeyboardInterrupt

    install_hook(stop)
    try:
        with pytest.raises(KeyboardInterrupt):
            yield
    finally:
        install_hook(None)
