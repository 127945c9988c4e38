"""keyops is not on the package index: nothing may install it by a bare index name.

Every document and template is scanned for install commands; the pipeline templates' install
step is run in bash with a recording ``python`` on PATH, for pinned and unpinned sources.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
GITHUB = ROOT / "scripts" / "pipelines" / "github-rotation.yml"
AZURE = ROOT / "scripts" / "pipelines" / "azure-pipelines-rotation.yml"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
#: ``pip install``, ``pip3 install``, ``python -m pip install``, ``pipx install``,
#: ``uv pip install``, ``uv tool install``, ``uv add``: the rest of the line.
_INSTALL = re.compile(r"\b(?:pip3?|pipx|uv\s+pip|uv\s+tool)\s+install\b(.*)|\buv\s+add\b(.*)")
#: A requirement that resolves ``keyops`` on an index: the name, extras, a version specifier.
_BARE = re.compile(r"^keyops(\[[^\]]*\])?\s*([<>=!~].*)?$", re.IGNORECASE)
#: pip options whose value is the next word (so that value is not read as a requirement).
_TAKES_VALUE = {"-r", "-c", "-t", "-i", "--index-url", "--extra-index-url", "--python", "--target"}


def bare_installs(text: str) -> list[str]:
    """The lines of ``text`` that install ``keyops`` by its bare name from an index."""
    found = []
    for line in text.splitlines():
        match = _INSTALL.search(line)
        if not match:
            continue
        rest = (match.group(1) or match.group(2) or "").split("#", 1)[0]
        try:
            words = shlex.split(rest)
        except ValueError:
            words = rest.split()
        skip = False
        for word in words:
            if skip:
                skip = False
            elif word in _TAKES_VALUE:
                skip = True
            elif not word.startswith("-") and _BARE.match(word.strip("'\"")):
                found.append(line.strip())
    return found


def _documents() -> list[Path]:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    paths = [ROOT / p for p in tracked if not p.startswith("tests/")]
    return [p for p in paths if p.is_file() and p.suffix not in {".json", ".pyc"}]


@pytest.mark.parametrize(
    ("line", "bad"),
    [
        ("pip install keyops", True),
        ("python -m pip install --disable-pip-version-check keyops", True),
        ("pip install 'keyops[emulator]'", True),
        ("pipx install keyops==0.1.0", True),
        ("uv add keyops", True),
        ("pip install -r requirements.txt keyops>=0.1", True),
        ("pip install .", False),
        ("pip install '.[emulator]'", False),
        ("pipx install .", False),
        ('pip install "keyops @ git+https://github.com/o/keyops@' + COMMIT + '"', False),
        ("pip install dist/keyops-0.1.0-py3-none-any.whl", False),
        ("pip install -r keyops", False),  # a requirements file named keyops
    ],
)
def test_the_scanner_tells_a_bare_name_from_a_source(line: str, bad: bool) -> None:
    assert bool(bare_installs(line)) is bad


def test_no_document_or_template_installs_keyops_from_an_index() -> None:
    documents = _documents()
    assert ROOT / "README.md" in documents and GITHUB in documents and AZURE in documents
    offenders = {
        str(p.relative_to(ROOT)): hits
        for p in documents
        if (hits := bare_installs(p.read_text(errors="replace")))
    }
    assert not offenders, offenders


def _install_script(template: Path) -> str:
    doc = yaml.safe_load(template.read_text())
    steps = doc["jobs"]["rotate"]["steps"] if "jobs" in doc else doc["steps"]
    for step in steps:
        if "Install keyops" in (step.get("name"), step.get("displayName")):
            return str(step.get("run") or step["script"])
    raise AssertionError(f"{template.name}: no 'Install keyops' step")


def test_both_templates_install_the_same_way() -> None:
    assert _install_script(GITHUB) == _install_script(AZURE)


def _run_install(
    tmp_path: Path, source: str | None
) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run the install step with KEYOPS_SOURCE=source; returns it and pip's recorded calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.txt"
    (bin_dir / "python").write_text(
        "#!/bin/bash\n"
        f'echo "CALL $*" >> {calls}\n'
        'while [ $# -gt 0 ]; do [ "$1" = -r ] && cat "$2" >> ' + str(calls) + "; shift; done\n"
    )
    (bin_dir / "python").chmod(0o755)
    calls.touch()
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    if source is not None:
        env["KEYOPS_SOURCE"] = source
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", _install_script(GITHUB)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    return proc, calls.read_text()


@pytest.mark.parametrize(
    "source",
    [
        None,
        "",
        "keyops",
        "keyops==0.1.0",
        "git+https://github.com/o/keyops",
        "git+https://github.com/o/keyops@main",
        "git+https://github.com/o/keyops@" + COMMIT[:12],
        "git+http://github.com/o/keyops@" + COMMIT,
        "dist/keyops-0.1.0-py3-none-any.whl",
        "dist/keyops-0.1.0-py3-none-any.whl#sha256=abc",
        "--index-url=https://evil.example/simple keyops",
    ],
)
def test_the_install_step_refuses_a_source_that_is_not_pinned(
    tmp_path: Path, source: str | None
) -> None:
    proc, calls = _run_install(tmp_path, source)
    assert proc.returncode == 2
    assert calls == ""
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "KEYOPS_SOURCE must be" in proc.stderr


def test_the_install_step_installs_a_commit_pinned_vcs_url(tmp_path: Path) -> None:
    url = "git+https://github.com/o/keyops@" + COMMIT
    proc, calls = _run_install(tmp_path, url)
    assert proc.returncode == 0, proc.stderr
    assert calls.splitlines() == [f"CALL -m pip install --disable-pip-version-check keyops @ {url}"]


def test_the_install_step_installs_a_wheel_by_its_hash(tmp_path: Path) -> None:
    wheel = tmp_path / "dist" / "keyops-0.1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"not really a wheel")
    digest = "ab" * 32
    proc, calls = _run_install(tmp_path, f"dist/{wheel.name}#sha256={digest}")
    assert proc.returncode == 0, proc.stderr
    lines = calls.splitlines()
    assert lines[0].startswith(
        "CALL -m pip install --disable-pip-version-check --require-hashes --no-deps -r "
    )
    assert lines[1] == f"keyops @ file://{wheel} --hash=sha256:{digest}"
    assert lines[2] == f"CALL -m pip install --disable-pip-version-check {wheel}"
