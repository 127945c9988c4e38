"""Running a parsed KQL query over rows (dicts of column -> value), as Log Analytics would.

Values: strings, ints, floats, bools, aware datetimes, timedeltas and dynamic values (dicts and
lists). A column or function the query names but the table does not have is a semantic
:class:`~keyops.emulator.services.logs.kqlparse.KqlError`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from keyops.emulator.services.logs import kqltypes
from keyops.emulator.services.logs.kqlparse import (
    Assign,
    BinOp,
    Call,
    Col,
    KqlError,
    Lit,
    Member,
    Query,
    Stage,
)

Row = dict[str, Any]


def _semantic(message: str) -> KqlError:
    return KqlError(message, kind="semantic")


def _dynamic(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _bin(value: Any, size: Any) -> Any:
    if isinstance(value, datetime) and isinstance(size, timedelta):
        step = size.total_seconds()
        stamp = math.floor(value.timestamp() / step) * step
        return datetime.fromtimestamp(stamp, tz=timezone.utc)
    if isinstance(value, (int, float)) and isinstance(size, (int, float)) and size:
        return math.floor(value / size) * size
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return str(value)


def _empty(value: Any) -> bool:
    return value is None or value == ""


class Evaluator:
    """Evaluates expressions against a row, given the time the query runs at."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.functions: dict[str, Callable[..., Any]] = {
            "ago": lambda span: self.now - span,
            "now": lambda: self.now,
            "bin": _bin,
            "tostring": _text,
            "todynamic": _dynamic,
            "parse_json": _dynamic,
            "tolower": lambda v: _text(v).lower(),
            "toupper": lambda v: _text(v).upper(),
            "isempty": _empty,
            "isnotempty": lambda v: not _empty(v),
            "not": lambda v: not v,
            "coalesce": lambda *vs: next((v for v in vs if not _empty(v)), vs[-1] if vs else None),
        }

    def value(self, node: Any, row: Row) -> Any:
        """The value of ``node`` for ``row``."""
        if isinstance(node, Lit):
            return node.value
        if isinstance(node, Col):
            if node.name not in row:
                raise _semantic(f"Failed to resolve scalar expression named '{node.name}'")
            return row[node.name]
        if isinstance(node, Member):
            base = _dynamic(self.value(node.base, row))
            key = self.value(node.key, row)
            if isinstance(base, dict):
                return base.get(str(key))
            if isinstance(base, list) and isinstance(key, int) and -len(base) <= key < len(base):
                return base[key]
            return None
        if isinstance(node, Call):
            return self.call(node, row)
        assert isinstance(node, BinOp)
        return self.binary(node, row)

    def call(self, node: Call, row: Row) -> Any:
        """A scalar function call (aggregates belong to summarize)."""
        if node.name == "column_ifexists":
            name = _column_name(node)
            return row[name] if name in row else self.value(node.args[1], row)
        fn = self.functions.get(node.name)
        if fn is None:
            where = "only inside summarize" if node.name in kqltypes.AGGREGATES else "not supported"
            raise _semantic(f"Function '{node.name}' is {where}")
        try:
            return fn(*(self.value(a, row) for a in node.args))
        except TypeError:
            raise _semantic(f"Function '{node.name}': wrong arguments") from None

    def binary(self, node: BinOp, row: Row) -> Any:
        """A binary operator (and/or short-circuit)."""
        if node.op == "and":
            return bool(self.value(node.left, row)) and bool(self.value(node.right, row))
        if node.op == "or":
            return bool(self.value(node.left, row)) or bool(self.value(node.right, row))
        a, b = self.value(node.left, row), self.value(node.right, row)
        return _compare(node.op, a, b)


def _compare(op: str, a: Any, b: Any) -> Any:
    if op in ("=~", "!~", "contains", "!contains", "startswith", "endswith"):
        x, y = _text(a).lower(), _text(b).lower()
        result = {
            "=~": x == y,
            "!~": x != y,
            "contains": y in x,
            "!contains": y not in x,
            "startswith": x.startswith(y),
            "endswith": x.endswith(y),
        }
        return result[op]
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if a is None or b is None:
        return None
    try:
        if op == "<":
            return a < b
        if op == "<=":
            return a <= b
        if op == ">":
            return a > b
        if op == ">=":
            return a >= b
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        return a / b if b else None
    except TypeError:
        raise _semantic(f"Operator '{op}' cannot compare these types") from None


def _aggregate(ev: Evaluator, assign: Assign, rows: list[Row]) -> Any:
    node = assign.expr  # a known aggregation: kqltypes.check_aggregate vetted it
    assert isinstance(node, Call)
    if node.name == "count":
        return len(rows)
    values = [v for v in (ev.value(node.args[0], r) for r in rows) if v is not None]
    if node.name == "dcount":
        return len({_text(v) for v in values})
    if node.name == "sum":
        return sum(values)
    if not values:
        return None
    return min(values) if node.name == "min" else max(values)


def _summarize(ev: Evaluator, stage: Stage, rows: list[Row]) -> list[Row]:
    groups: dict[tuple[str, ...], tuple[Row, list[Row]]] = {}
    for row in rows:
        keys = {g.name: ev.value(g.expr, row) for g in stage.by}
        marker = tuple(_text(v) for v in keys.values())
        groups.setdefault(marker, (keys, []))[1].append(row)
    if not stage.by and not groups:
        groups[()] = ({}, [])
    out = []
    for keys, members in groups.values():
        result = dict(keys)
        for agg in stage.items:
            result[agg.name] = _aggregate(ev, agg, members)
        out.append(result)
    return out


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, datetime):
        return (1, value.timestamp())
    if isinstance(value, (int, float, timedelta)):
        return (1, value.total_seconds() if isinstance(value, timedelta) else value)
    return (2, _text(value))


def _order(ev: Evaluator, stage: Stage, rows: list[Row]) -> list[Row]:
    for expr, desc in reversed(stage.items):

        def key(row: Row, expr: Any = expr) -> tuple[int, Any]:
            return _sort_key(ev.value(expr, row))

        rows = sorted(rows, key=key, reverse=desc)
    return rows


def run(
    query: Query,
    rows: Iterable[Row],
    columns: list[str],
    now: datetime,
    types: Mapping[str, str] | None = None,
) -> tuple[list[str], list[Row]]:
    """Run ``query`` over ``rows`` whose table has ``columns`` (of ``types``, where known);
    (result columns, result rows). Names and types are checked before any row is read."""
    ev = Evaluator(now)
    current = [dict.fromkeys(columns) | r for r in rows]
    names = list(columns)
    kinds = dict(types or {})
    for stage in query.stages:
        if stage.op == "where":
            _check(ev, stage.items[0], names)
            kqltypes.check_where(stage.items[0], kinds)
            current = [r for r in current if ev.value(stage.items[0], r) is True]
        elif stage.op in ("project", "extend"):
            for a in stage.items:
                _check(ev, a.expr, names)
            added = [a.name for a in stage.items]
            made = {a.name: kqltypes.kind_of(a.expr, kinds) for a in stage.items}
            kinds = made if stage.op == "project" else kinds | made
            if stage.op == "project":
                current = [{a.name: ev.value(a.expr, r) for a in stage.items} for r in current]
                names = added
            else:
                current = [r | {a.name: ev.value(a.expr, r) for a in stage.items} for r in current]
                names = names + [n for n in added if n not in names]
        elif stage.op == "summarize":
            for agg in stage.items:
                kqltypes.check_aggregate(agg)
            for a in (*stage.by, *(x for agg in stage.items for x in _args(agg))):
                _check(ev, a, names)
            kinds = {a.name: kqltypes.kind_of(a.expr, kinds) for a in (*stage.by, *stage.items)}
            current = _summarize(ev, stage, current)
            names = [g.name for g in stage.by] + [a.name for a in stage.items]
        elif stage.op == "order":
            for expr, _ in stage.items:
                _check(ev, expr, names)
            current = _order(ev, stage, current)
        else:
            current = current[: stage.count]
    return names, current


def _args(assign: Assign) -> list[Any]:
    return list(assign.expr.args) if isinstance(assign.expr, Call) else [assign.expr]


def _check(ev: Evaluator, node: Any, names: list[str]) -> None:
    """Resolve names against the schema even when no row is there to evaluate."""
    if isinstance(node, Assign):
        node = node.expr
    if isinstance(node, Col) and node.name not in names:
        raise _semantic(f"Failed to resolve scalar expression named '{node.name}'")
    if isinstance(node, Member):
        _check(ev, node.base, names)
        _check(ev, node.key, names)
    if isinstance(node, BinOp):
        _check(ev, node.left, names)
        _check(ev, node.right, names)
    if isinstance(node, Call):
        if node.name == "column_ifexists":  # needs the row, so evaluated in Evaluator.call
            _column_name(node)
            _check(ev, node.args[1], names)
            return
        if node.name not in ev.functions:
            where = "only inside summarize" if node.name in kqltypes.AGGREGATES else "not supported"
            raise _semantic(f"Function '{node.name}' is {where}")
        for a in node.args:
            _check(ev, a, names)


def _column_name(node: Call) -> str:
    """column_ifexists(name, default): a literal column name and a default."""
    if len(node.args) != 2 or not (
        isinstance(node.args[0], Lit) and isinstance(node.args[0].value, str)
    ):
        raise _semantic("Function 'column_ifexists': expects a column name string and a default")
    return node.args[0].value
