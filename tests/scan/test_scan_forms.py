"""Keys in the forms real repositories have: base64, joined literals, name/value pairs on separate
lines, URL query parameters, HCL defaults; each finding names its form, and its hint and
fingerprint are of the decoded key."""

from __future__ import annotations

import base64
import json
import random
from collections import Counter
from pathlib import Path

import pytest

from keyops.scan import ScanOptions, scan_paths
from keyops.scan.detectors import scan_bytes
from keyops.secret import fingerprint_of
from keyops_bench.scan.forms_corpus import FORMS, generate_forms
from keyops_bench.scan.keys import make_annotated_key, make_legacy_key

RNG = random.Random(5)
ANNO = make_annotated_key(RNG)
HEX = make_legacy_key(RNG)
BAD = ANNO[:-1] + ("A" if ANNO[-1] != "A" else "B")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _docker(entry: dict[str, str]) -> str:
    return _b64(json.dumps({"auths": {"registry.example.io": entry}}))


CASES = [
    ("base64", HEX, f"kind: Secret\ndata:\n  AZURE_OPENAI_API_KEY: {_b64(HEX)}\n"),
    ("base64", ANNO, f"data:\n  AZURE_OPENAI_API_KEY: {_b64(ANNO)}\n"),
    ("base64", ANNO, f"blob = '{_b64('endpoint: x ' + ANNO + ' end')}'\n"),
    ("base64", ANNO, f"t={base64.urlsafe_b64encode(('k:' + ANNO).encode()).decode()}\n"),
    ("base64", HEX, f"  .dockerconfigjson: {_docker({'password': HEX})}\n"),
    (
        "base64",
        HEX,
        "data:\n  a: eA==\n  app.env: " + _b64("LOG=1\nOPENAI_API_KEY=" + HEX) + "\n",
    ),
    ("base64", ANNO, f"  .dockerconfigjson: {_docker({'auth': _b64('u:' + ANNO)})}\n"),
    ("concatenated", ANNO, f"KEY = '{ANNO[:40]}' + '{ANNO[40:]}'\n"),
    ("concatenated", ANNO, f'c = Client(\n    api_key=("{ANNO[:30]}"\n     "{ANNO[30:]}"),\n)\n'),
    ("concatenated", HEX, f"const apiKey = '{HEX[:16]}' +\n  '{HEX[16:]}';\n"),
    ("concatenated", ANNO, f"$apiKey = '{ANNO[:50]}' . '{ANNO[50:]}';\n"),
    # Twelve literals on one line, the most a chain is followed for.
    ("concatenated", ANNO, "key = " + " + ".join(f"'{ANNO[i : i + 7]}'" for i in range(0, 84, 7))),
    ("concatenated", ANNO, f'var key = "{ANNO[:60]}"\n    + "{ANNO[60:]}";\n'),
    ("concatenated", HEX, f'  openai_api_key = join("", ["{HEX[:9]}", "{HEX[9:]}"])\n'),
    ("concatenated", ANNO, f"openai_api_key: >-\n  {ANNO[:42]}\n  {ANNO[42:]}\n"),
    ("concatenated", HEX, f"openai_api_key: >-\n  {HEX[:16]}\n  {HEX[16:]}\n"),
    ("name-value", HEX, f"variables:\n- name: AZURE_OPENAI_API_KEY\n  value: {HEX}\n"),
    ("name-value", HEX, f'env:\n  - name: OPENAI_API_KEY\n    value: "{HEX}"\n'),
    # Three fields between the name and its value (an Azure Pipelines variable item).
    (
        "name-value",
        HEX,
        f"- name: AZURE_OPENAI_API_KEY\n  type: string\n  readonly: true\n"
        f"  secret: false\n  value: '{HEX}'\n",
    ),
    # The name after a long gap, and a long line before it (only the line's end is read).
    ("name-value", HEX, f"- name:{' ' * 30}'AZURE_OPENAI_API_KEY'\n  value: {HEX}\n"),
    ("name-value", HEX, f"{'x' * 300}\n- name:{chr(9) * 12}OPENAI_API_KEY\n  value: {HEX}\n"),
    ("url-query", HEX, f"curl 'https://x.openai.azure.com/a?api-version=1&key={HEX}'\n"),
    ("url-query", HEX, f"https://x.cognitiveservices.azure.com/x?subscription-key={HEX}&a=b\n"),
    ("url-query", HEX, f"GET /chat?api-key={HEX} 200\n"),
    (
        "hcl-default",
        HEX,
        f'variable "openai_api_key" {{\n  type = string\n  sensitive = true\n'
        f'  default = "{HEX}"\n}}\n',
    ),
    (
        "hcl-default",
        HEX,
        f'{"#" * 300}\nvariable{" " * 20}"openai_api_key" {{ default = "{HEX}" }}\n',
    ),
]


@pytest.mark.parametrize(("form", "key", "text"), CASES)
def test_each_form_is_found_with_the_decoded_keys_hint_and_fingerprint(
    form: str, key: str, text: str
) -> None:
    hits = scan_bytes(text.encode())
    assert [(h.form, h.key_fingerprint) for h in hits] == [(form, fingerprint_of(key))]
    assert f"({form})" in hits[0].detail
    assert f"{key[:4]}…{fingerprint_of(key)}" in hits[0].excerpt
    # No piece of the key, plain or encoded, in what is shown.
    assert key[4:12] not in hits[0].excerpt and _b64(key)[4:16] not in hits[0].excerpt


LOOKALIKES = [
    "data:\n  app.env: " + _b64("LOG=1\nREQUEST_ID=" + HEX) + "\n  blob: " + _b64("z" * 300),
    f"data:\n  API_KEY_SHA256: {_b64('ab' * 32)}\n",
    f"data:\n  AZURE_OPENAI_API_KEY: {_b64('0123456789abcdef' * 2)}\n",
    f"data:\n  AZURE_OPENAI_API_KEY: {_b64(BAD)}\n",
    f"KEY = '{BAD[:40]}' + '{BAD[40:]}'\n",
    f"openai_api_key: >-\n  {BAD[:42]}\n  {BAD[42:]}\n",
    f"variables:\n- name: OPENAI_API_KEY_HASH\n  value: {HEX}\n",
    f"variables:\n- name: AZURE_CLIENT_ID\n  value: {HEX}\n",
    "variables:\n- name: AZURE_OPENAI_API_KEY\n  value: $(openai-key)\n",
    f"GET /x?id={HEX}&requestId={HEX}\n",
    f"curl 'https://x.azure.com/a?key={'a' * 32}'\n",
    f'variable "api_key_checksum" {{\n  default = "{HEX}"\n}}\n',
    'variable "openai_api_key" {\n  default = "REPLACE_ME"\n}\n',
    f"const apiKey = '{HEX[:10]}' + '{HEX[10:30]}';\n",
    f'api_key = "{ANNO[:70]}..."\n',
]


@pytest.mark.parametrize("text", LOOKALIKES)
def test_look_alikes_are_not_keys(text: str) -> None:
    assert scan_bytes(text.encode()) == []


def test_base64_images_cost_no_decoding_and_raise_nothing() -> None:
    image = base64.b64encode(random.Random(9).randbytes(400_000)).decode()
    notebook = json.dumps({"cells": [{"outputs": [{"data": {"image/png": image}}]}]})
    assert scan_bytes(notebook.encode()) == []


def test_a_key_inside_a_long_base64_run_is_found_by_a_window() -> None:
    rng = random.Random(3)
    payload = rng.randbytes(30_000) + b" key=" + ANNO.encode() + b" " + rng.randbytes(30_000)
    hits = scan_bytes(base64.b64encode(payload))
    assert [(h.form, h.key_fingerprint) for h in hits] == [("base64", fingerprint_of(ANNO))]


def test_the_forms_corpus_recall_per_form_and_no_false_positive(tmp_path: Path) -> None:
    corpus = generate_forms(tmp_path, per_form=60, per_lookalike=60, seed=2)
    report = scan_paths([tmp_path], ScanOptions(executor="serial"))
    found = {(str(Path(f.path).relative_to(tmp_path)), f.key_fingerprint) for f in report.findings}
    recall = Counter(p.form for p in corpus.planted if (p.path, p.key.fingerprint) in found)
    planted = Counter(p.form for p in corpus.planted)
    assert {form: recall[form] / planted[form] for form in FORMS} == dict.fromkeys(FORMS, 1.0)
    false = [f.path for f in report.findings if "lookalikes" in Path(f.path).parts]
    assert false == []


@pytest.mark.parametrize(
    "before", ["", "x = ", "# " * 60], ids=["file-start", "after-text", "after-a-long-text"]
)
def test_a_whole_token_glued_to_text_is_no_split_key_and_hides_none_after_it(before: str) -> None:
    """84 letters and digits holding a key's markers (JQQJ, ACOG) but glued to more text (not
    a key by itself) are not searched for a key split over literals: the key written after
    them is reported as written, plain, and nothing more."""
    other = make_annotated_key(random.Random(6))
    hits = scan_bytes(f'{before}{other}key1="{ANNO}"\n'.encode())
    assert [(h.key_fingerprint, h.form) for h in hits] == [(fingerprint_of(ANNO), "plain")]


@pytest.mark.parametrize("before", ["", "# " * 60], ids=["file-start", "after-a-long-text"])
def test_a_whole_token_with_a_bad_checksum_is_no_split_key(before: str) -> None:
    """84 letters and digits shaped like a key whose checksum fails, then a comma: not a key,
    and not searched for one split over literals; the key after it is reported plain."""
    bad = make_annotated_key(random.Random(7))
    bad = bad[:-1] + ("A" if bad[-1] != "A" else "B")
    hits = scan_bytes(f'{before}{bad}, key1="{ANNO}"\n'.encode())
    assert [(h.key_fingerprint, h.form) for h in hits] == [(fingerprint_of(ANNO), "plain")]


def test_a_split_key_right_after_another_key_is_found_too() -> None:
    """A 32-hex key, and right after it (no space) joined literals holding an annotated key:
    the second starts where the first ends, not inside it; both are reported."""
    text = f'AZURE_OPENAI_API_KEY\t=\t{HEX}\'api_key=\'"{ANNO[:60]}""{ANNO[60:]}"\n'
    hits = scan_bytes(text.encode())
    assert [(h.key_fingerprint, h.form) for h in hits] == [
        (fingerprint_of(HEX), "plain"),
        (fingerprint_of(ANNO), "concatenated"),
    ]


def test_a_whole_key_before_a_split_one_is_reported_as_written() -> None:
    """A whole key, a tab and a second whole key glued to text, then a key wrapped over lines:
    the first is reported plain (the lines around the wrapped key start at it, and a span
    starting where a finding starts is that finding)."""
    other = make_annotated_key(random.Random(8))
    text = f'{ANNO}\t{other}api-key = "{ANNO[:27]}\n{ANNO[27:40]}\n{ANNO[40:]}\n'
    hits = scan_bytes(text.encode())
    assert [(h.key_fingerprint, h.form) for h in hits] == [(fingerprint_of(ANNO), "plain")]
