"""The demo's evidence chapters: a consumer on the previous key holds the revoke back, its
refresh lets it through, and the ready account is switched to keyless and watched clean."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from keyops.cli.main import cli


def test_the_demo_shows_both_chapters(tmp_path: Path) -> None:
    env = {"COLUMNS": "200", "KEYOPS_EMULATOR": None, "KEYOPS_CONFIG": None}
    result = CliRunner().invoke(
        cli,
        ["demo", "--state-dir", str(tmp_path / "demo"), "--propagation-delay", "0.2"],
        env=env,
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    out, err = result.stdout, result.stderr
    chapter10 = out[out.index("== 10. Revoke when consumers moved") : out.index("== 10b.")]
    assert "skipped" in chapter10 and "revoke of Key1 waits" in err and "10.20.0.4" in err
    chapter10b = out[out.index("== 10b.") : out.index("== 11. Keyless")]
    assert "revoked" in chapter10b and "consumers moved" in chapter10b
    chapter11 = out[out.index("== 11. Keyless") :]
    assert "contoso-openai-eus      ready" in chapter11
    assert "disabled" in chapter11 and "no 403" in chapter11
    last = chapter11[chapter11.rindex("$ keyops keyless plan") :]
    assert "contoso-openai-eus  keyless" in last
