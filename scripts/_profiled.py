"""Run ``python -m ...`` under cProfile, profiling only between SIGUSR1 and SIGUSR2.

    python scripts/_profiled.py OUT.prof -m keyops emulator serve ...

SIGUSR1 starts profiling the main thread's CPU time (the emulator's event loop), SIGUSR2 stops
and writes the stats to OUT.prof (atomically: the file appears complete). Start-up (building a
world of thousands of accounts) is thereby left out of a benchmark's profile.
"""

from __future__ import annotations

import cProfile
import os
import runpy
import signal
import sys
import time
from types import FrameType


def main() -> None:
    out, flag, module, *rest = sys.argv[1:]
    if flag != "-m":
        raise SystemExit("usage: _profiled.py OUT.prof -m MODULE [ARGS...]")
    # Thread CPU, not wall time: a wait in select() is not the emulator's cost.
    profiler = cProfile.Profile(time.thread_time)

    def start(_sig: int, _frame: FrameType | None) -> None:
        profiler.enable()

    def stop(_sig: int, _frame: FrameType | None) -> None:
        profiler.disable()
        profiler.dump_stats(out + ".tmp")
        os.replace(out + ".tmp", out)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    sys.argv = [module, *rest]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
