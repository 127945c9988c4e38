"""The lines synthetic files are made of: ordinary code, false-positive bait, planted keys.

Used by :mod:`keyops.scan.corpus`. Bait looks like a key to a naive scanner (hashes, commit ids,
UUIDs, base64, placeholders, annotated-shaped strings with a broken checksum) but is not one;
each planted-key template says which finding the scanner must report for it.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable

from keyops.scan.findings import FindingKind

from .keys import make_annotated_key

ANNOTATED, LEGACY = "annotated", "legacy"
_B64 = string.ascii_letters + string.digits + "+/"
_WORDS = ("alpha", "beta", "cache", "config", "deploy", "endpoint", "model", "region", "retry")
Line = Callable[[random.Random], str]


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def _uuid(rng: random.Random) -> str:
    h = _hex(rng, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _b64(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(_B64) for _ in range(length))


def word(rng: random.Random) -> str:
    """A random identifier-ish word."""
    return rng.choice(_WORDS)


def _broken_annotated(rng: random.Random) -> str:
    key = make_annotated_key(rng)
    return key[:-1] + ("A" if key[-1] != "A" else "B")


FILLER: dict[str, list[Line]] = {
    ".py": [
        lambda r: f"def {word(r)}_{r.randint(0, 999)}(value, {word(r)}=None):",
        lambda r: f"    return value * {r.randint(1, 99)}  # {word(r)} {word(r)}",
        lambda r: f"    if {word(r)} is None:",
        lambda r: f'        {word(r)} = settings.get("{word(r)}", {r.randint(0, 9)})',
        lambda r: f'    logger.info("{word(r)} %s done", {word(r)})',
        lambda r: f"    for {word(r)} in sorted(items, key=lambda item: item.{word(r)}):",
        lambda r: f"from {word(r)} import {word(r).title()}Client",
    ],
    ".js": [
        lambda r: f"const {word(r)}{r.randint(0, 99)} = require('{word(r)}');",
        lambda r: f"  if (!{word(r)}) {{ return {r.randint(0, 9)}; }}",
        lambda r: f"export function {word(r)}({word(r)}) {{",
        lambda r: f"  await fetch(`${{base}}/{word(r)}/${{id}}`, {{ method: 'POST' }});",
    ],
    ".cs": [
        lambda r: f"    public int {word(r).title()}{r.randint(0, 99)} {{ get; set; }}",
        lambda r: f"        var {word(r)} = await client.Get{word(r).title()}Async(id);",
        lambda r: "    }",
    ],
    ".json": [
        lambda r: f'  "{word(r)}": {r.randint(0, 10**6)},',
        lambda r: f'  "{word(r)}": "{word(r)}-{r.randint(0, 99)}",',
        lambda r: f'  "{word(r)}": ["{word(r)}", "{word(r)}"],',
    ],
    ".yaml": [
        lambda r: f"  {word(r)}: {word(r)}-{r.randint(0, 99)}",
        lambda r: f"  - name: {word(r)}",
        lambda r: f"    replicas: {r.randint(1, 9)}",
    ],
    ".md": [
        lambda r: f"The {word(r)} {word(r)} needs a {word(r)} before the {word(r)} step.",
        lambda r: f"- `{word(r)}`: the {word(r)} to use ({r.randint(1, 90)} by default)",
        lambda r: f"## {word(r).title()} {word(r)}",
    ],
    ".lock": [
        lambda r: f'name = "{word(r)}"',
        lambda r: f'version = "1.{r.randint(0, 30)}.{r.randint(0, 9)}"',
        lambda r: (
            f'    {{file = "{word(r)}-1.{r.randint(0, 9)}.whl", hash = "sha256:{_hex(r, 64)}"}},'
        ),
        lambda r: f"{word(r)}==1.{r.randint(0, 30)} --hash=sha256:{_hex(r, 64)}",
    ],
    ".log": [
        lambda r: f"2025-01-0{r.randint(1, 9)}T10:00:00Z req={_uuid(r)} trace={_hex(r, 32)} ok",
        lambda r: f"2025-01-0{r.randint(1, 9)}T10:00:01Z {word(r)} retry={r.randint(0, 5)}",
    ],
}
#: Lines that look like keys to a naive scanner but are not (one pool line in ~12 is bait).
BAIT: dict[str, list[Line]] = {
    ".py": [
        lambda r: f'COMMIT = "{_hex(r, 40)}"',
        lambda r: f'cache_key = "{_hex(r, 32)}"',
        lambda r: f'api_key_hash = "{_hex(r, 32)}"',
        lambda r: f'request_id = "{_hex(r, 32)}"',
        lambda r: 'api_key = os.environ["AZURE_OPENAI_API_KEY"]',
        lambda r: f'token_b64 = "{_b64(r, 44)}"',
        lambda r: f'almost_a_key = "{_broken_annotated(r)}"',
        lambda r: 'client = AzureOpenAI(api_key="00000000000000000000000000000000")',
    ],
    ".js": [
        lambda r: "const apiKey = process.env.AZURE_OPENAI_API_KEY;",
        lambda r: f'  etag: "{_hex(r, 32)}",',
        lambda r: f"export const build = '{_hex(r, 40)}';",
        lambda r: f"  id: '{_uuid(r)}',",
    ],
    ".cs": [
        lambda r: f'    private const string Thumbprint = "{_hex(r, 40).upper()}";',
        lambda r: (
            'var credential = new AzureKeyCredential(Environment.GetEnvironmentVariable("K"));'
        ),
    ],
    ".json": [
        lambda r: f'  "integrity": "sha512-{_b64(r, 86)}==",',
        lambda r: f'  "id": "{_hex(r, 32)}",',
        lambda r: f'  "key": "{_hex(r, 32)}",',
        lambda r: f'  {{"apiKey": null, "md5": "{_hex(r, 32)}"}},',
        lambda r: f'  "subscriptionId": "{_uuid(r)}",',
    ],
    ".yaml": [
        lambda r: f"image: registry.example/app@sha256:{_hex(r, 64)}",
        lambda r: "  api-key: ${AZURE_OPENAI_API_KEY}",
        lambda r: f"  checksum: {_hex(r, 32)}",
    ],
    ".md": [
        lambda r: f"The {word(r)} {word(r)} was fixed in commit {_hex(r, 40)}.",
        lambda r: 'curl -H "api-key: $AZURE_OPENAI_API_KEY" https://example.openai.azure.com/',
        lambda r: "AZURE_OPENAI_API_KEY=<your-key-here>",
        lambda r: f"Request {_uuid(r)} took {r.randint(1, 900)} ms.",
    ],
    ".lock": [lambda r: f'checksum = "{_hex(r, 64)}"'],
    ".log": [lambda r: f"{_b64(r, 76)}"],
}
BAIT_RATE = 1 / 12
#: (template, key format, expected finding kind) per file type.
PLANTS: dict[str, list[tuple[str, str, FindingKind]]] = {
    ".py": [
        (
            'client = AzureOpenAI(api_key="{key}", azure_endpoint=ENDPOINT)',
            LEGACY,
            FindingKind.HARDCODED_KEY,
        ),
        ('AZURE_OPENAI_KEY = "{key}"', ANNOTATED, FindingKind.HARDCODED_KEY),
    ],
    ".js": [
        ("const apiKey = '{key}';", ANNOTATED, FindingKind.HARDCODED_KEY),
        ('  headers: {{ "api-key": "{key}" }},', LEGACY, FindingKind.HARDCODED_KEY),
    ],
    ".cs": [
        ('var credential = new AzureKeyCredential("{key}");', LEGACY, FindingKind.HARDCODED_KEY)
    ],
    ".json": [
        ('  "apiKey": "{key}",', LEGACY, FindingKind.LEGACY_KEY),
        ('  "key1": "{key}",', LEGACY, FindingKind.LEGACY_KEY),
        (
            '  "openai": {{"endpoint": "https://x.openai.azure.com", "key": "{key}"}},',
            ANNOTATED,
            FindingKind.ANNOTATED_KEY,
        ),
    ],
    ".yaml": [
        ("  api-key: {key}", ANNOTATED, FindingKind.ANNOTATED_KEY),
        ('  AZURE_OPENAI_API_KEY: "{key}"', LEGACY, FindingKind.LEGACY_KEY),
    ],
    ".md": [
        (
            'curl -H "api-key: {key}" https://example.openai.azure.com/',
            LEGACY,
            FindingKind.LEGACY_KEY,
        ),
        ("export AZURE_OPENAI_API_KEY={key}", ANNOTATED, FindingKind.ANNOTATED_KEY),
    ],
    ".log": [("Ocp-Apim-Subscription-Key: {key}", LEGACY, FindingKind.LEGACY_KEY)],
    ".env": [
        ("AZURE_OPENAI_API_KEY={key}", LEGACY, FindingKind.LEGACY_KEY),
        ("AZURE_OPENAI_API_KEY={key}", ANNOTATED, FindingKind.ANNOTATED_KEY),
    ],
}
FILE_NAMES = {
    ".py": "app/{w}_{n}.py",
    ".js": "web/{w}{n}.js",
    ".cs": "src/{W}{n}.cs",
    ".json": "config/{w}-{n}.json",
    ".yaml": "deploy/{w}-{n}.yaml",
    ".md": "docs/{w}-{n}.md",
    ".lock": "locks/{w}{n}.lock",
    ".log": "logs/{w}-{n}.log",
}
WEIGHTS = {
    ".py": 30,
    ".js": 15,
    ".cs": 5,
    ".json": 15,
    ".yaml": 10,
    ".md": 10,
    ".lock": 10,
    ".log": 5,
}
