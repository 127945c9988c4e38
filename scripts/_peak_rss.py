"""Run ``python -m MODULE ...`` (or a script) and write its peak resident set size (MB) to a
file at exit.

    python scripts/_peak_rss.py OUT -m keyops rotate ...
    python scripts/_peak_rss.py OUT script.py ARGS...

A parent's ``wait4`` reports a child's ``ru_maxrss``, which on Linux keeps the high-water mark
of the process that forked it (the benchmark, holding a 100,000-entry request log) across
``exec``. ``VmHWM`` of ``/proc/self/status`` is this process's own, so it is read here.
"""

from __future__ import annotations

import atexit
import runpy
import sys
from pathlib import Path


def _write_peak(out: Path) -> None:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            out.write_text(str(int(line.split()[1]) / 1024))


def main() -> None:
    out, *args = sys.argv[1:]
    atexit.register(_write_peak, Path(out))
    if args[0] == "-m":
        sys.argv = args[1:]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = args
        runpy.run_path(args[0], run_name="__main__")


if __name__ == "__main__":
    main()
