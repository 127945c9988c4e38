#!/usr/bin/env python3
"""Mutation score of keyops's core modules, measured with cosmic-ray.

    scripts/mutation                       # every module in scripts/mutation.toml
    scripts/mutation --quick               # a seeded sample of 30 mutants per module
    scripts/mutation keyops/secret.py      # one module (or a folder: each file in it)
    scripts/mutation --part 2/3 keyops/rotate/lease.py   # a third of its mutants (run 1/3..3/3)

For each module, cosmic-ray lists the mutants; each mutant is applied to the file in place and
only the tests that execute the mutated statement run (``-x``, under a timeout), chosen from
per-test line coverage recorded once per test list (scripts/mutation_select.py says how). Those
tests run fastest first in two stages: the ``--first`` fastest (by the seconds recorded with the
coverage), then, only if the mutant survived them, the rest. A stage's timeout is
``--timeout-factor`` times its tests' recorded seconds plus a start-up allowance, within
``--min-timeout``..``--timeout`` (900 s): a mutant that loops forever costs a few times its
tests' own seconds. A stage a lower ``--timeout`` cut short (its tests' allowance is over the
cap) runs again with ``--full-timeout`` before a timeout counts; the report also gives the score
with every timeout counted as a survivor. With ``--confirm`` a mutant that survives its
selection is run again against the module's whole test list in scripts/mutation.toml, so a
test that reaches the line only in a child process still counts; without it the printed score
is a lower bound (a survivor may still die in a child process). A mutant is *killed* when the
tests fail or time out. The score is killed / (killed + survived), modules smallest first.
Left out of the score, each with its reason printed:

- mutants inside annotations: with ``from __future__ import annotations`` (every keyops module)
  an annotation is never evaluated, so ``str | None`` -> ``str // None`` cannot change behaviour;
  likewise ``if TYPE_CHECKING:`` -> ``if not TYPE_CHECKING:``, which imports at run time the
  names only annotations use;
- equivalent mutants listed in scripts/mutation.toml ``[[equivalent]]`` (matched by operator and
  mutated line; ``line`` is where it was when listed), each with a one-line reason (a mutant
  no test could kill because behaviour is the same);
- with ``--quick``, the mutants outside the sample;
- with ``--part I/N``, the mutants of the other parts: the scored mutants in source order,
  every N-th from the I-th, so that N runs at one commit (on N machines or worktrees) together
  score each mutant once; their killed and scored counts add up to the module's.

Survivors are printed as file:line, operator and the changed line. Exit 1 when a module scores
below ``--threshold`` (default 0.90). Files are restored from a copy when a run is interrupted
(SIGINT or SIGTERM).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import os
import random
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

from mutation_select import PYTEST, Selection, load, record

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "scripts" / "mutation.toml"


@dataclass
class Score:
    """What one module's run found."""

    module: str
    killed: int = 0
    survivors: list[str] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)
    incompetent: int = 0
    runs: int = 0
    second_stages: int = 0
    killed_in_second: int = 0
    confirmations: int = 0
    missed_by_selection: int = 0
    timeouts: int = 0
    cap_reruns: int = 0

    @property
    def scored(self) -> int:
        return self.killed + len(self.survivors)

    @property
    def rate(self) -> float:
        return self.killed / self.scored if self.scored else 1.0

    @property
    def strict_rate(self) -> float:
        """The rate with every mutant killed by a timeout counted as a survivor instead."""
        return (self.killed - self.timeouts) / self.scored if self.scored else 1.0


Span = tuple[tuple[int, int], tuple[int, int]]


_TYPE_CHECKING = ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def annotation_spans(path: Path) -> list[Span]:
    """Source ranges ((line, col), (end line, end col)) of every annotation in a module, and of
    each ``if TYPE_CHECKING:`` test (its block holds imports for annotations only)."""
    tree = ast.parse(path.read_text())
    spans: list[Span] = []

    def cover(node: ast.expr | None) -> None:
        if node is not None and node.end_lineno is not None and node.end_col_offset is not None:
            spans.append(((node.lineno, node.col_offset), (node.end_lineno, node.end_col_offset)))

    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            cover(node.returns)
            a = node.args
            for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]:
                if arg is not None:
                    cover(arg.annotation)
        elif isinstance(node, ast.AnnAssign):
            cover(node.annotation)
        elif isinstance(node, ast.If) and ast.unparse(node.test) in _TYPE_CHECKING:
            # From the ``if`` keyword: where a mutant of the test is placed depends on its node.
            test = node.test
            spans.append(((node.lineno, node.col_offset), (test.lineno, test.end_col_offset or 0)))
    return spans


def in_annotation(spans: list[Span], start: tuple[int, int]) -> bool:
    """Whether a mutation at ``start`` (1-based line, 0-based column) lies in an annotation."""
    return any(lo <= start < hi for lo, hi in spans)


def _cr(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "cosmic-ray"
    return subprocess.run([str(exe), *args], cwd=ROOT, capture_output=True, text=True, check=False)


def _equivalents(config: dict[str, Any], module: str) -> dict[tuple[int, str, str], str]:
    """Listed equivalent mutants of ``module``: (line, operator, mutated line) -> reason."""
    return {
        (int(item["line"]), str(item["operator"]), str(item["mutant"]).strip()): str(item["reason"])
        for item in config.get("equivalent", [])
        if item["module"] == module
    }


def _mutated_line(diff: str | None) -> str:
    """The line a mutant adds, or ``(removed) line`` for one that only deletes (a decorator)."""
    lines = (diff or "").splitlines()
    added = [ln[1:].strip() for ln in lines if ln.startswith("+") and not ln.startswith("+++")]
    # cosmic-ray's RemoveDecorator also drops the blank lines above the decorator.
    removed = [ln[1:].strip() for ln in lines if ln.startswith("-") and not ln.startswith("---")]
    removed = [ln for ln in removed if ln]
    if added:
        return added[0]
    return f"(removed) {removed[0]}" if removed else "?"


def run_module(
    module: str,
    selection: Selection,
    tests: list[str],
    args: argparse.Namespace,
    config: dict[str, Any],
) -> Score:
    """Mutate one file, run the tests that execute each mutant's line, and score it."""
    from cosmic_ray.work_db import WorkDB, use_db

    path = ROOT / module
    backup = path.read_bytes()
    score = Score(module)
    with tempfile.TemporaryDirectory() as tmp:
        session = Path(tmp) / "session.sqlite"
        cfg = Path(tmp) / "cr.toml"
        cfg.write_text(
            "[cosmic-ray]\n"
            f'module-path = "{module}"\n'
            f"timeout = {args.timeout}\n"
            "excluded-modules = []\n"
            'test-command = "false"\n'
            '[cosmic-ray.distributor]\nname = "local"\n'
        )
        done = _cr("init", str(cfg), str(session))
        if done.returncode != 0:
            raise SystemExit(f"mutation: cosmic-ray init failed for {module}: {done.stderr}")
        _mark_excluded(session, path, args, score)
        try:
            with use_db(str(session), WorkDB.Mode.open) as db:
                for item in list(db.pending_work_items):
                    db.set_result(item.job_id, _test_one(item, selection, tests, args, score))
        finally:
            if path.read_bytes() != backup:
                path.write_bytes(backup)
        _collect(session, score, _equivalents(config, module))
    return score


def _pytest(tests: list[str]) -> str:
    return shlex.join(
        [
            *PYTEST,
            "-x",
            # Plugins no test here uses: about a fifth of a small run's start-up.
            "-p",
            "no:cov",
            "-p",
            "no:anyio",
            *tests,
        ]
    )


def _test_one(
    item: Any, selection: Selection, tests: list[str], args: argparse.Namespace, score: Score
) -> Any:
    """One mutant: its fastest selected tests, then the rest of its selection, then (with
    ``--confirm``) the module's whole test list; it stops at the first stage that kills it."""
    from cosmic_ray.mutating import mutate_and_test
    from cosmic_ray.work_item import TestOutcome

    mutation = item.mutations[0]
    first, rest = selection.stages(
        selection.tests_for(mutation.start_pos[0], mutation.end_pos[0]), args.first
    )
    result = None
    for stage, chosen in enumerate((first, rest)):
        if not chosen:
            continue
        score.runs += 1
        score.second_stages += stage
        result = mutate_and_test(item.mutations, _pytest(chosen), _timeout(selection, chosen, args))
        if result.output == "timeout" and _capped(selection, chosen, args):
            # The cap, not 5x the tests' own time, cut this stage short: slow tests on a busy
            # machine are not a hang, so they get the whole-list allowance before it counts.
            score.cap_reruns += 1
            result = mutate_and_test(item.mutations, _pytest(chosen), args.full_timeout)
        if result.test_outcome != TestOutcome.SURVIVED:
            if stage and result.test_outcome == TestOutcome.KILLED:
                score.killed_in_second += 1
            _note_timeout(result, score)
            return result
    if not args.confirm:
        # Not confirmed: a mutant no test executes survives as it stands (nothing to run).
        return result or mutate_and_test(item.mutations, "true", args.timeout)
    score.confirmations += 1
    result = mutate_and_test(item.mutations, _pytest(tests), args.full_timeout)
    if result.test_outcome == TestOutcome.KILLED:
        score.missed_by_selection += 1
    _note_timeout(result, score)
    return result


def _allowance(selection: Selection, tests: list[str], args: argparse.Namespace) -> float:
    """Seconds the stage's tests took unmutated (as recorded, under coverage), times the factor,
    plus start-up: a loop the mutant made endless is killed past this."""
    recorded = sum(selection.seconds.get(t, args.timeout) for t in tests)
    return args.timeout_factor * recorded + 5.0


def _timeout(selection: Selection, tests: list[str], args: argparse.Namespace) -> float:
    """Seconds a stage may take: its allowance, within ``--min-timeout``..``--timeout``."""
    return min(args.timeout, max(args.min_timeout, _allowance(selection, tests, args)))


def _capped(selection: Selection, tests: list[str], args: argparse.Namespace) -> bool:
    """Whether ``--timeout`` is below the stage's allowance (the cap, not the tests' own time,
    would cut it short) and ``--full-timeout`` would give it more time."""
    return _allowance(selection, tests, args) > args.timeout and args.full_timeout > args.timeout


def _note_timeout(result: Any, score: Score) -> None:
    if result.output == "timeout":
        score.timeouts += 1


def _place(item: Any) -> tuple[tuple[int, int], str, int]:
    mutation = item.mutations[0]
    return (tuple(mutation.start_pos), mutation.operator_name, mutation.occurrence)


def _mark_excluded(session: Path, path: Path, args: argparse.Namespace, score: Score) -> None:
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    spans = annotation_spans(path)
    with use_db(str(session), WorkDB.Mode.open) as db:
        items = list(db.work_items)
        reasons = {
            i.job_id: "annotation"
            for i in items
            if in_annotation(spans, (i.mutations[0].start_pos[0], i.mutations[0].start_pos[1]))
        }
        if args.quick:
            # The sample is drawn from the mutants that can count (annotations never do), in
            # source order: job ids are random, so the same seed picks the same mutants.
            scored = [i.job_id for i in sorted(items, key=_place) if i.job_id not in reasons]
            sample = set(random.Random(args.seed).sample(scored, min(args.quick, len(scored))))
            reasons |= {j: "outside the quick sample" for j in scored if j not in sample}
        if args.part is not None:
            scored = [i.job_id for i in sorted(items, key=_place) if i.job_id not in reasons]
            reasons |= _other_parts(scored, args.part)
        for job_id, reason in reasons.items():
            score.excluded[reason] = score.excluded.get(reason, 0) + 1
            db.set_result(job_id, WorkResult(WorkerOutcome.SKIPPED, output=reason))


def _other_parts(scored: list[str], part: tuple[int, int]) -> dict[str, str]:
    """The mutants (in source order) outside part ``I/N``: all but every N-th from the I-th."""
    index, total = part
    return {
        j: f"in another part of {total}" for n, j in enumerate(scored) if n % total != index - 1
    }


def _collect(session: Path, score: Score, equivalent: dict[tuple[int, str, str], str]) -> None:
    from cosmic_ray.work_db import WorkDB, use_db

    with use_db(str(session), WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if result.worker_outcome == "skipped":
                continue
            if result.test_outcome == "killed":
                score.killed += 1
            elif result.test_outcome == "incompetent":
                score.incompetent += 1
            else:
                mutation = item.mutations[0]
                changed = _mutated_line(result.diff)
                # Matched by operator and mutated text: the line moves as the file changes.
                if any(
                    (op, text) == (mutation.operator_name, changed) for _, op, text in equivalent
                ):
                    score.excluded["equivalent"] = score.excluded.get("equivalent", 0) + 1
                    continue
                score.survivors.append(
                    f"{score.module}:{mutation.start_pos[0]} {mutation.operator_name}: {changed}"
                )


def _targets(config: dict[str, Any], wanted: list[str]) -> list[tuple[str, int]]:
    """(module, index of its config entry), smallest module first."""
    found: list[tuple[str, int]] = []
    for index, entry in enumerate(config["module"]):
        paths = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob(entry["path"]))
        if (ROOT / entry["path"]).is_dir():
            paths = sorted(
                str(p.relative_to(ROOT))
                for p in (ROOT / entry["path"]).glob("*.py")
                if p.name != "__init__.py"
            )
        for p in paths:
            if not wanted or any(p.startswith(w.rstrip("/")) for w in wanted):
                found.append((p, index))
    return sorted(found, key=lambda t: len((ROOT / t[0]).read_text().splitlines()))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="files or folders (default: all configured)")
    parser.add_argument(
        "--quick", type=int, nargs="?", const=30, default=0, help="sample N mutants per module"
    )
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument(
        "--part",
        type=_part,
        default=None,
        metavar="I/N",
        help="score only part I of N of each module's mutants (N runs together score all)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        # As long as --full-timeout: a stage cut at a lower cap is run again before it counts,
        # so a lower cap only adds its own seconds to every large selection a mutant survives.
        default=900.0,
        help="most seconds for one stage of a mutant's tests",
    )
    parser.add_argument(
        "--min-timeout", type=float, default=20.0, help="least seconds for one stage"
    )
    parser.add_argument(
        "--timeout-factor",
        type=float,
        default=5.0,
        help="a stage's timeout: this times its tests' recorded seconds, plus 5 s for start-up",
    )
    parser.add_argument(
        "--full-timeout", type=float, default=900.0, help="seconds for a survivor's whole list"
    )
    parser.add_argument(
        "--first",
        type=int,
        default=8,
        help="how many of a mutant's fastest tests run before the rest of its selection",
    )
    parser.add_argument(
        "--confirm",
        action="store_true",
        help="rerun survivors against the module's whole test list (without: a lower bound)",
    )
    parser.add_argument("--threshold", type=float, default=0.90)
    return parser


def _part(text: str) -> tuple[int, int]:
    """``I/N`` as ``rotate --shard`` reads it (:func:`keyops.rotate.fleet.parse_shard`)."""
    from keyops.errors import InputError
    from keyops.rotate.fleet import parse_shard

    try:
        return parse_shard(text)
    except InputError:
        raise argparse.ArgumentTypeError(f"{text!r} is not I/N with 1 <= I <= N") from None


def _cpu_seconds() -> float:
    """CPU seconds used so far by this run's finished children (the tests): unlike wall time,
    comparable between runs on a machine shared with other work."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _report(
    score: Score,
    elapsed: tuple[float, float],
    equivalent: dict[tuple[int, str, str], str],
    confirmed: bool,
) -> None:
    excluded = ", ".join(f"{n} {why}" for why, n in sorted(score.excluded.items()))
    reruns = (
        f"{score.confirmations} whole-list reruns ({score.missed_by_selection} killed only there)"
        if confirmed
        else "not confirmed on the whole list: a lower bound"
    )
    print(
        f"{score.module}: {score.rate:.0%} killed ({score.killed}/{score.scored}); "
        f"{score.incompetent} incompetent; left out: {excluded or 'none'}; "
        f"{score.runs} selected runs ({score.second_stages} second stages, "
        f"{score.killed_in_second} killed there), {reruns}, "
        f"{score.timeouts} killed by timeout ({score.strict_rate:.0%} if they had survived; "
        f"{score.cap_reruns} reruns past the --timeout cap); "
        f"{elapsed[0]:.0f} s, {elapsed[1]:.0f} s CPU",
        flush=True,
    )
    for line in score.survivors:
        print(f"  survived {line}", flush=True)
    for (line_no, operator, mutant), reason in sorted(equivalent.items()):
        print(f"  equivalent {score.module}:{line_no} {operator}: {mutant} -- {reason}", flush=True)


def _stop(signum: int, _frame: object) -> None:
    # SystemExit unwinds through run_module's finally, which puts the mutated file back; a
    # background job starts with SIGINT ignored, so both signals are handled here.
    _kill_children()
    raise SystemExit(128 + signum)


def _kill_children() -> None:
    """Kill the running test command: cosmic-ray starts it in a session of its own, so it
    outlives this process otherwise (a mutant's endless loop then runs on for hours)."""
    mine = str(os.getpid())
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == mine:  # its parent is this process
            with contextlib.suppress(OSError):
                os.killpg(int(stat.parent.name), signal.SIGKILL)


def main() -> int:
    args = _parser().parse_args()
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    if shutil.which("cosmic-ray", path=str(Path(sys.executable).parent)) is None:
        raise SystemExit("mutation: cosmic-ray is not installed (scripts/mutation installs it)")
    config = tomllib.loads(CONFIG.read_text())
    low = 0
    with tempfile.TemporaryDirectory() as tmp:
        # Keyed by the test list: modules that share one (the scan's) share its recording.
        recorded: dict[tuple[str, ...], Path] = {}
        for module, index in _targets(config, args.modules):
            started, cpu = time.monotonic(), _cpu_seconds()
            tests = list(config["module"][index]["tests"])
            if tuple(tests) not in recorded:
                recorded[tuple(tests)] = Path(tmp) / f"coverage-{len(recorded)}"
                record(["keyops"], tests, recorded[tuple(tests)])
            selection = load(recorded[tuple(tests)], ROOT / module)
            score = run_module(module, selection, tests, args, config)
            elapsed = (time.monotonic() - started, _cpu_seconds() - cpu)
            _report(score, elapsed, _equivalents(config, module), args.confirm)
            low += score.rate < args.threshold
    return 1 if low else 0


if __name__ == "__main__":
    raise SystemExit(main())
