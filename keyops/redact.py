"""The one redactor: every line keyops prints passes through :func:`redact`.

Two kinds of text are masked:

- **Every key value keyops has seen in this process.** :class:`~keyops.secret.SecretValue`
  registers its plaintext here when it is created, so a key that comes back inside someone
  else's text — a service or proxy echoing its input in an error message, a library quoting a
  header it refused — is masked wherever it appears: as is, and in its base64 and base64url
  forms at any alignment (a key inside a ``user:key`` Basic header or a Kubernetes ``data:``
  value).
- **Anything shaped like a secret**: the 84-character annotated Azure AI Services key format,
  bearer tokens, ``api-key``/``Ocp-Apim-Subscription-Key`` header values, OAuth form fields,
  SAS ``sig`` and a legacy 32-hex key right after a key-like word. Bare 32-hex strings are left
  alone elsewhere because Key Vault version ids have that shape and debugging needs them; and a
  Key Vault version id keyops itself read from Key Vault (:func:`allow`) is left alone even
  right after such a word (a ``Key2`` column next to a ``new version`` one). A key value
  keyops has seen is masked first, whatever it looks like.

:func:`install_streams` puts a :class:`RedactingStream` over ``sys.stdout`` and ``sys.stderr`` at
the CLI entry point, so tables, JSON, SARIF, error lines, tracebacks and ``--debug`` logs are
masked whoever writes them. The channels whose job is to carry a key — ``keyops export``'s
masking commands — write to :func:`raw_stdout` instead.
"""

from __future__ import annotations

import functools
import io
import re
import sys
import threading
from collections.abc import Mapping
from typing import TextIO

REDACTED = "REDACTED"

#: Shorter values are not registered: masking them would mangle ordinary words.
MIN_REGISTERED = 12

#: A header's or field's value: 8 or more characters up to a quote, space, comma, "&" or a
#: backslash (which would be a JSON escape: masking it would break the document); "…" too,
#: so that a masked hint (``abcd…sha256:12345678``) is left as it is.
_VALUE = r"[^\s'\",&\\…]{8,}"


@functools.cache
def _compiled(source: str) -> re.Pattern[str]:
    """An expression compiled on its first use, once per process."""
    return re.compile(source)


class _Shape:
    """A secret shape: its expression, compiled on first use, and words every match holds.

    Text that holds none of the words cannot match, so the expression is neither compiled nor
    run over it (``keyops <command> --help`` then compiles one expression, not seven). For
    ``(?i)`` expressions the words are lower-case and the test is on ASCII text only: there,
    ``(?i)`` matches an ASCII letter exactly when the lower-cased text holds it, while in other
    text Unicode case folding also matches e.g. the Kelvin sign to "k".
    """

    __slots__ = ("folded", "replacement", "source", "words")

    def __init__(self, source: str, replacement: str, *words: str) -> None:
        self.source, self.replacement, self.words = source, replacement, words
        self.folded = source.startswith("(?i)")

    @property
    def pattern(self) -> re.Pattern[str]:
        return _compiled(self.source)

    def may_match(self, text: str, lower: str | None) -> bool:
        """False only if no match can be in ``text`` (``lower``: it lower-cased, if ASCII)."""
        if not self.folded:
            return any(word in text for word in self.words)
        return lower is None or any(word in lower for word in self.words)


_SHAPES: tuple[_Shape, ...] = (
    # Header- and field-style secrets: keep the name, mask the value.
    _Shape(
        r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?bearer\s+)" + _VALUE,
        r"\1" + REDACTED,
        "bearer",
    ),
    _Shape(
        r"(?i)((?:api-key|ocp-apim-subscription-key)['\"]?\s*[:=]\s*['\"]?)" + _VALUE,
        r"\1" + REDACTED,
        "-key",
    ),
    _Shape(
        r"(?i)((?:client_secret|client_assertion|access_token|refresh_token|password)"
        r"['\"]?\s*[:=]\s*['\"]?)" + _VALUE,
        r"\1" + REDACTED,
        "client_",
        "_token",
        "password",
    ),
    _Shape(r"(?i)([?&]sig=)[^&\s'\"\\]+", r"\1" + REDACTED, "sig="),
    # A JSON Web Token (an Entra access token, a workload identity assertion): header.claims.sig.
    _Shape(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*", REDACTED, "eyJ"),
    # An annotated Azure AI Services key: 52 base62 characters, then "JQQJ99" (or "JQQJ9D").
    _Shape(r"[A-Za-z0-9]{52}JQQJ9[9D][A-Za-z0-9]{26}", REDACTED, "JQQJ9"),
)

#: A legacy 32-hex key right after a key-like word (masked unless it is an identifier keyops
#: was handed as one: see :meth:`Redactor.allow`).
#: (Not after "/": a Key Vault URL's version id follows a secret name ending in "-key".)
_LEGACY_KEY = _Shape(
    r"(?i)((?:key|secret|value|header|token)\d?[\s:=,'\"(\[]{1,10})(?<![0-9a-f])"
    r"([0-9a-f]{32})(?![0-9a-f])",
    "",
    "key",
    "secret",
    "value",
    "header",
    "token",
)


#: The key in a legacy key's match, in lower-cased ASCII text (a cheap scan: no word, no case).
_HEX_KEY = r"[0-9a-f]{32}"


def _lower_if_ascii(text: str) -> str | None:
    return text.lower() if text.isascii() else None


def encoded_forms(value: str) -> set[str]:
    """The value, and the base64/base64url text that encodes it at each of the three byte
    alignments, cut to the characters that depend on the value's bytes alone (so the forms are
    found inside any longer base64 text that holds the value)."""
    import base64  # here: `keyops <command> --help` installs the redactor, and needs no base64

    raw = value.encode("utf-8")
    forms = {value}
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw).decode("ascii")
        start = -(-pad * 8 // 6)  # the first character with no pad bits
        end = (pad + len(raw)) * 8 // 6  # past the last character with no tail bits
        core = encoded[start:end]
        forms.add(core)
        forms.add(core.translate(str.maketrans("+/", "-_")))
    return forms


#: A run of text that could hold a registered value (no key or encoded form has whitespace).
_RUN = re.compile(r"\S{%d,}" % MIN_REGISTERED)


class Redactor:
    """Known values (registered) and secret-shaped text, masked in any string.

    Known values are found through an index of their first :data:`MIN_REGISTERED` characters:
    each position of each non-blank run is one dictionary lookup, so masking costs time in
    the length of the text, not in the number of keys seen (a fleet run sees thousands; one
    regular expression of every form cost ~2.6 ms a table cell at 3,000 keys).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        #: first MIN_REGISTERED characters -> the forms starting with them, longest first
        self._index: dict[str, tuple[str, ...]] = {}
        #: 32-hex identifiers Azure handed keyops as identifiers (Key Vault version ids)
        self._identifiers: set[str] = set()

    def allow(self, identifier: str) -> None:
        """Leave ``identifier`` (a Key Vault version id read from Key Vault) unmasked where
        only its shape, not a known key value, would mask it."""
        if len(identifier) == 32:
            with self._lock:
                self._identifiers.add(identifier.lower())

    def _legacy(self, match: re.Match[str]) -> str:
        if match.group(2).lower() in self._identifiers:
            return match.group(0)
        return match.group(1) + REDACTED

    def register(self, value: str) -> None:
        """Mask ``value`` (and its encoded forms) in everything redacted from now on."""
        if len(value) < MIN_REGISTERED or value in self._values:
            return
        with self._lock:
            self._values.add(value)
            for form in encoded_forms(value):
                if len(form) < MIN_REGISTERED:
                    continue
                head = form[:MIN_REGISTERED]
                known = self._index.get(head, ())
                if form not in known:
                    # Longest first, so a value is never left half-masked by a shorter form.
                    self._index[head] = tuple(sorted((*known, form), key=len, reverse=True))

    def _known_spans(self, text: str) -> list[tuple[int, int]]:
        index, width, spans = self._index, MIN_REGISTERED, []
        for run in _RUN.finditer(text):
            i, stop = run.start(), run.end() - width
            while i <= stop:
                forms = index.get(text[i : i + width])
                hit = next((f for f in forms if text.startswith(f, i)), None) if forms else None
                if hit is None:
                    i += 1
                    continue
                spans.append((i, i + len(hit)))
                i += len(hit)
        return spans

    def redact(self, text: str) -> str:
        """``text`` with every known value and every secret-shaped string masked."""
        if self._index:
            spans = self._known_spans(text)
            if spans:
                pieces, last = [], 0
                for begin, end in spans:
                    pieces += [text[last:begin], REDACTED]
                    last = end
                pieces.append(text[last:])
                text = "".join(pieces)
        lower = _lower_if_ascii(text)
        for shape in _SHAPES:
            if shape.may_match(text, lower):
                masked = shape.pattern.sub(shape.replacement, text)
                if masked is not text:  # re hands back the same str when nothing matched
                    text, lower = masked, _lower_if_ascii(masked)
        if not _LEGACY_KEY.may_match(text, lower):
            return text
        if lower is not None and _compiled(_HEX_KEY).search(lower) is None:
            return text
        return _LEGACY_KEY.pattern.sub(self._legacy, text)


#: The process-wide redactor.
REDACTOR = Redactor()


def register(value: str) -> None:
    """Register a key value with the process-wide redactor (see :meth:`Redactor.register`)."""
    REDACTOR.register(value)


def allow(identifier: str) -> None:
    """Leave a Key Vault version id keyops read from Key Vault unmasked (see
    :meth:`Redactor.allow`)."""
    REDACTOR.allow(identifier)


def redact(text: str) -> str:
    """``text`` redacted by the process-wide redactor."""
    return REDACTOR.redact(text)


#: Variables whose value is a credential keyops's identity chain may use (Azure's names), and
#: variables naming a file whose contents are one (a workload identity's client assertion).
CREDENTIAL_VARIABLES = (
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_PASSWORD",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "SYSTEM_ACCESSTOKEN",
    "IDENTITY_HEADER",
)
CREDENTIAL_FILE_VARIABLES = ("AZURE_FEDERATED_TOKEN_FILE",)


def register_environment_credentials(environ: Mapping[str, str]) -> None:
    """Register the credentials the environment hands keyops's identity chain (a client secret,
    a pipeline's OIDC request token, a federated token file's assertion), so that a service or
    library quoting one back is masked like a key."""
    for name in CREDENTIAL_VARIABLES:
        if environ.get(name):
            register(environ[name].strip())
    for name in CREDENTIAL_FILE_VARIABLES:
        path = environ.get(name)
        if not path:
            continue
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                register(fh.read(65536).strip())
        except OSError:
            continue  # azure-identity reports an unreadable file itself


class RedactingStream(io.TextIOBase):
    """A text stream that redacts whole lines before they reach the stream it wraps.

    Text is held until a newline or a flush so that a key written in pieces is masked whole.
    """

    def __init__(self, inner: TextIO) -> None:
        super().__init__()
        self.inner = inner
        self._pending = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            complete, newline, rest = self._pending.rpartition("\n")
            if newline:
                self._pending = rest
                self.inner.write(redact(complete + newline))
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self.inner.write(redact(self._pending))
                self._pending = ""
        self.inner.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.inner.isatty()

    def fileno(self) -> int:
        return self.inner.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self.inner, "encoding", None) or "utf-8")

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.inner, "errors", None)


def install_streams() -> None:
    """Put a :class:`RedactingStream` over ``sys.stdout`` and ``sys.stderr`` (once)."""
    if not isinstance(sys.stdout, RedactingStream):
        sys.stdout = RedactingStream(sys.stdout)
    if not isinstance(sys.stderr, RedactingStream):
        sys.stderr = RedactingStream(sys.stderr)


def flush_streams() -> None:
    """Flush what the redacting streams hold (at the end of a command)."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, RedactingStream):
            stream.flush()


def raw_stdout() -> TextIO:
    """The stream under the redactor, for the lines whose job is to carry a key (the
    pipeline's masking commands); what the redactor holds is flushed first, to keep order."""
    stream = sys.stdout
    if isinstance(stream, RedactingStream):
        stream.flush()
        return stream.inner
    return stream
