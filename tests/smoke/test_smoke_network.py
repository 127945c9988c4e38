"""``keyops smoke --endpoint … --key-from env`` on a user's network: no emulator connection file,
trust from the environment's CA bundle, through a TLS-intercepting proxy or around it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from keyops.cli.main import cli
from keyops.emulator.services.arm.models import current_key
from keyops.exitcodes import ExitStatus
from tests.smoke.clihelp import assert_no_key
from tests.support.emulator import EmulatorHandle
from tests.support.mitm_proxy import NETWORK_VARIABLES_UNSET, InterceptingProxy

EUS = "contoso-openai-eus"


def _row(stdout: str) -> str:
    """The table's only row, after its header."""
    header, row = stdout.splitlines()
    assert header.startswith("result")
    return row


def _smoke(handle: EmulatorHandle, **network: str) -> Result:
    env: dict[str, str | None] = dict(NETWORK_VARIABLES_UNSET)
    env.update(
        KEYOPS_EMULATOR=None,
        KEYOPS_CONFIG=None,
        KEYOPS_OUTPUT=None,
        AZURE_OPENAI_API_KEY=current_key(handle.server.emulator, EUS, "Key1"),
    )
    env.update(network)
    args = ["smoke", "--endpoint", handle.account(EUS)["endpoint"], "-d", "gpt-4o-mini"]
    return CliRunner().invoke(cli, [*args, "--key-from", "env"], env=env, catch_exceptions=False)


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"])
def test_the_ca_only_in_the_environments_bundle(
    shared_emulator: EmulatorHandle, variable: str
) -> None:
    r = _smoke(shared_emulator, **{variable: str(shared_emulator.server.tls.ca_cert)})
    assert r.exit_code == 0, r.stderr
    assert _row(r.stdout).startswith("ok"), r.stdout
    assert_no_key([r.stdout, r.stderr], [current_key(shared_emulator.server.emulator, EUS, "Key1")])


def test_without_the_ca_anywhere_it_is_a_tls_error(shared_emulator: EmulatorHandle) -> None:
    r = _smoke(shared_emulator)
    assert r.exit_code == 1 and " tls_error " in r.stdout, (r.stdout, r.stderr)


def test_through_the_intercepting_proxy(
    shared_emulator: EmulatorHandle, proxy: InterceptingProxy
) -> None:
    r = _smoke(shared_emulator, HTTPS_PROXY=proxy.url, REQUESTS_CA_BUNDLE=str(proxy.ca_cert))
    assert r.exit_code == 0, r.stderr
    assert _row(r.stdout).startswith("ok") and len(proxy.connects) == 1, (r.stdout, proxy.connects)


def test_no_proxy_goes_around_the_proxy(
    shared_emulator: EmulatorHandle, proxy: InterceptingProxy
) -> None:
    r = _smoke(
        shared_emulator,
        https_proxy=proxy.url,
        no_proxy="127.0.0.0/8",
        REQUESTS_CA_BUNDLE=str(shared_emulator.server.tls.ca_cert),
    )
    assert r.exit_code == 0 and _row(r.stdout).startswith("ok"), (r.stdout, r.stderr)
    assert proxy.connects == []


def test_an_unreadable_bundle_is_a_config_error_naming_the_variables(
    shared_emulator: EmulatorHandle, tmp_path: Path
) -> None:
    missing = tmp_path / "corporate-ca.pem"
    r = _smoke(shared_emulator, SSL_CERT_FILE=str(missing))
    assert r.exit_code == ExitStatus.CONFIG, r.stderr
    [line] = r.stderr.splitlines()
    assert str(missing) in line and "REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, SSL_CERT_FILE" in line
    assert r.stdout == ""
