"""The KQL subset the emulator's Logs query API understands: tokenizer and parser.

A query is a table name and a pipe of operators: ``where``, ``project``, ``extend``,
``summarize … by``, ``order by``/``sort by``, ``take``/``limit``. Expressions have literals
(strings, numbers, ``7d``-style timespans, ``true``/``false``), columns, member access
(``Identity.claim.appid``, ``x['key']``), function calls, the comparison operators
(``== != =~ !~ < <= > >= contains !contains startswith endswith``), ``and``/``or`` and
arithmetic. Anything else is refused with :class:`KqlError`, which the service turns into Azure's
400 ``BadArgumentError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<timespan>\d+(?:\.\d+)?(?:ms|d|h|m|s)\b)
    |(?P<number>\d+(?:\.\d+)?)
    |(?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
    |(?P<name>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<op>!contains|==|!=|=~|!~|<=|>=|[|()<>,.\[\]=+\-*/!])
    )""",
    re.VERBOSE,
)
_SPAN_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_STRING_OPS = ("contains", "startswith", "endswith")
OPERATORS = ("where", "project", "extend", "summarize", "order", "sort", "take", "limit")


class KqlError(ValueError):
    """A query the interpreter cannot run: ``kind`` is "syntax" or "semantic"."""

    def __init__(self, message: str, kind: str = "syntax", token: str = "", pos: int = 0) -> None:
        super().__init__(message)
        self.kind, self.token, self.pos = kind, token, pos


@dataclass(frozen=True)
class Token:
    """One token: its kind (timespan, number, string, name, op, end), text and position."""

    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    """Tokens of ``text``; :class:`KqlError` at the first character that starts none."""
    tokens, at = [], 0
    while at < len(text):
        m = _TOKEN.match(text, at)
        if m is None or m.end() == at:
            if not text[at:].strip():
                break
            pos = at + len(text[at:]) - len(text[at:].lstrip())
            raise KqlError(f"Query could not be parsed at '{text[pos]}'", token=text[pos], pos=pos)
        kind = m.lastgroup or "end"
        tokens.append(Token(kind, m.group(kind), m.start(kind)))
        at = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


@dataclass(frozen=True)
class Lit:
    """A literal value."""

    value: Any


@dataclass(frozen=True)
class Col:
    """A column reference."""

    name: str


@dataclass(frozen=True)
class Member:
    """``base.name`` or ``base['name']`` on a dynamic value."""

    base: Any
    key: Any


@dataclass(frozen=True)
class Call:
    """A function call."""

    name: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class BinOp:
    """A binary operator."""

    op: str
    left: Any
    right: Any


@dataclass(frozen=True)
class Assign:
    """``name = expr`` (or an expression whose column name is derived)."""

    name: str
    expr: Any


@dataclass(frozen=True)
class Stage:
    """One pipe stage: its operator and arguments."""

    op: str
    items: tuple[Any, ...] = ()
    by: tuple[Assign, ...] = ()
    count: int = 0


@dataclass
class Query:
    """A parsed query: the table and its stages."""

    table: str
    stages: list[Stage] = field(default_factory=list)


def _unescape(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def fail(self) -> KqlError:
        t = self.tok
        shown = t.text or "<end of query>"
        return KqlError(f"Query could not be parsed at '{shown}'", token=shown, pos=t.pos)

    def take(self, text: str | None = None, kind: str | None = None) -> Token:
        t = self.tok
        if (text is not None and t.text != text) or (kind is not None and t.kind != kind):
            raise self.fail()
        self.i += 1
        return t

    def accept(self, text: str) -> bool:
        if self.tok.text == text and self.tok.kind in ("op", "name"):
            self.i += 1
            return True
        return False

    def query(self) -> Query:
        q = Query(self.take(kind="name").text)
        while self.accept("|"):
            q.stages.append(self.stage())
        if self.tok.kind != "end":
            raise self.fail()
        return q

    def stage(self) -> Stage:
        word = self.tok
        if word.kind != "name" or word.text not in OPERATORS:
            raise KqlError(
                f"Query could not be parsed at '{word.text}': the operator is not supported "
                f"here (supported: {', '.join(OPERATORS)})",
                token=word.text,
                pos=word.pos,
            )
        self.i += 1
        if word.text == "where":
            return Stage("where", (self.expr(),))
        if word.text in ("project", "extend"):
            return Stage(word.text, tuple(self.assignments()))
        if word.text == "summarize":
            # 'summarize by X' (distinct groups, no aggregation) is valid KQL.
            aggs = () if self.tok.text == "by" else tuple(self.assignments())
            by = tuple(self.assignments()) if self.accept("by") else ()
            return Stage("summarize", aggs, by)
        if word.text in ("order", "sort"):
            self.take("by")
            return Stage("order", tuple(self.ordering()))
        return Stage("take", count=int(self.take(kind="number").text))

    def assignments(self) -> list[Assign]:
        out = [self.assignment()]
        while self.accept(","):
            out.append(self.assignment())
        return out

    def assignment(self) -> Assign:
        if self.tok.kind == "name" and self.tokens[self.i + 1].text == "=":
            name = self.take().text
            self.take("=")
            return Assign(name, self.expr())
        expr = self.expr()
        return Assign(_derived_name(expr), expr)

    def ordering(self) -> list[tuple[Any, bool]]:
        out = []
        while True:
            expr = self.expr()
            desc = True  # KQL sorts descending unless told otherwise
            if self.accept("asc"):
                desc = False
            elif self.accept("desc"):
                desc = True
            out.append((expr, desc))
            if not self.accept(","):
                return out

    def expr(self) -> Any:
        return self.binary(0)

    _LEVELS: tuple[tuple[str, ...], ...] = (
        ("or",),
        ("and",),
        ("==", "!=", "=~", "!~", "<", "<=", ">", ">=", *_STRING_OPS, "!contains"),
        ("+", "-"),
        ("*", "/"),
    )

    def binary(self, level: int) -> Any:
        if level == len(self._LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.tok.text in self._LEVELS[level] and self.tok.kind in ("op", "name"):
            op = self.take().text
            left = BinOp(op, left, self.binary(level + 1))
        return left

    def unary(self) -> Any:
        if self.accept("-"):
            return BinOp("-", Lit(0), self.unary())
        return self.postfix(self.primary())

    def postfix(self, node: Any) -> Any:
        while True:
            if self.accept("."):
                node = Member(node, Lit(self.take(kind="name").text))
            elif self.accept("["):
                node = Member(node, self.expr())
                self.take("]")
            else:
                return node

    def primary(self) -> Any:
        t = self.tok
        if t.kind == "string":
            self.i += 1
            return Lit(_unescape(t.text))
        if t.kind == "number":
            self.i += 1
            return Lit(float(t.text) if "." in t.text else int(t.text))
        if t.kind == "timespan":
            self.i += 1
            unit = re.sub(r"[\d.]", "", t.text)
            return Lit(timedelta(seconds=float(t.text[: -len(unit)]) * _SPAN_UNITS[unit]))
        if t.kind == "name":
            self.i += 1
            if t.text in ("true", "false"):
                return Lit(t.text == "true")
            if self.accept("("):
                args = [] if self.tok.text == ")" else [self.expr()]
                while self.accept(","):
                    args.append(self.expr())
                self.take(")")
                return Call(t.text, tuple(args))
            return Col(t.text)
        if self.accept("("):
            inner = self.expr()
            self.take(")")
            return inner
        raise self.fail()


def _derived_name(expr: Any) -> str:
    if isinstance(expr, Col):
        return expr.name
    if isinstance(expr, Call):
        inner = next((a for a in expr.args if isinstance(a, Col)), None)
        return f"{expr.name}_{inner.name}" if inner else f"{expr.name}_"
    if isinstance(expr, Member) and isinstance(expr.key, Lit):
        return f"{_derived_name(expr.base)}_{expr.key.value}"
    return "Column1"


def parse(text: str) -> Query:
    """Parse a query; :class:`KqlError` names the token where it stops making sense."""
    if not text.strip():
        raise KqlError("The query is empty", token="", pos=0)
    return _Parser(text).query()
