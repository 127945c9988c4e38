"""Checking a parsed KQL query's types before it runs, as Log Analytics does.

Azure refuses a query by its types whatever the data: a ``where`` whose predicate is not a
Boolean (``where 1``), a comparison of incompatible types (``Category == 1``), a ``summarize`` of
something that is not an aggregation. Checking them up front refuses them on an empty table too,
where evaluating row by row would never reach them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keyops.emulator.services.logs.kqlparse import Assign, BinOp, Call, Col, KqlError, Lit, Member
from keyops.emulator.services.logs.tables import kind_of as value_kind

#: Aggregation functions ``summarize`` knows, and the type each gives (None: its argument's).
AGGREGATES: dict[str, str | None] = {
    "count": "long",
    "dcount": "long",
    "min": None,
    "max": None,
    "sum": None,
}
#: Scalar functions and the type each gives (None: its first argument's).
_FUNCTIONS: dict[str, str | None] = {
    "ago": "datetime",
    "now": "datetime",
    "bin": None,
    "tostring": "string",
    "todynamic": "dynamic",
    "parse_json": "dynamic",
    "tolower": "string",
    "toupper": "string",
    "isempty": "bool",
    "isnotempty": "bool",
    "not": "bool",
    "coalesce": None,
}
_FAMILY = {"int": "number", "long": "number", "real": "number", "guid": "string"}
_LOGIC = ("and", "or")
_COMPARE = ("==", "!=", "<", "<=", ">", ">=")
_TEXT = ("=~", "!~", "contains", "!contains", "startswith", "endswith")


def _semantic(message: str) -> KqlError:
    return KqlError(message, kind="semantic")


def _family(kind: str) -> str:
    return _FAMILY.get(kind, kind)


def kind_of(node: Any, schema: Mapping[str, str]) -> str:
    """The type ``node`` evaluates to ("dynamic" where only the data can tell)."""
    if isinstance(node, Lit):
        return value_kind(node.value)
    if isinstance(node, Col):
        return schema.get(node.name, "dynamic")
    if isinstance(node, Member):
        return "dynamic"
    if isinstance(node, Call):
        return _call(node, schema)
    assert isinstance(node, BinOp)
    return _binary(node, schema)


def _call(node: Call, schema: Mapping[str, str]) -> str:
    if node.name == "column_ifexists" and node.args and isinstance(node.args[0], Lit):
        name = str(node.args[0].value)
        return schema[name] if name in schema else kind_of(node.args[-1], schema)
    if node.name in AGGREGATES:
        given = AGGREGATES[node.name]
        return given or (kind_of(node.args[0], schema) if node.args else "dynamic")
    given = _FUNCTIONS.get(node.name)
    if given is not None:
        return given
    return kind_of(node.args[0], schema) if node.args else "dynamic"


def _binary(node: BinOp, schema: Mapping[str, str]) -> str:
    left, right = kind_of(node.left, schema), kind_of(node.right, schema)
    if node.op in _LOGIC:
        for side in (left, right):
            _boolean(side, f"operator '{node.op}'")
        return "bool"
    if node.op in _COMPARE:
        _comparable(node.op, left, right)
        return "bool"
    if node.op in _TEXT:
        return "bool"
    if left == right == "datetime":
        return "timespan"  # the time between two moments
    if "datetime" in (left, right):
        return "datetime"
    return left if left != "dynamic" else right


def _boolean(kind: str, where: str) -> None:
    if kind not in ("bool", "dynamic"):
        raise _semantic(f"{where} expects a Boolean expression, not {kind}")


def _comparable(op: str, left: str, right: str) -> None:
    if "dynamic" in (left, right) or _family(left) == _family(right):
        return
    raise _semantic(f"Cannot compare values of types {left} and {right} with '{op}'")


def check_where(predicate: Any, schema: Mapping[str, str]) -> None:
    """A ``where`` predicate must be a Boolean."""
    _boolean(kind_of(predicate, schema), "The 'where' operator")


def check_aggregate(assign: Assign) -> None:
    """Each ``summarize`` item must be a known aggregation."""
    node = assign.expr
    if not isinstance(node, Call) or node.name not in AGGREGATES:
        raise _semantic(f"summarize expects aggregation functions ({', '.join(AGGREGATES)})")
    if node.name != "count" and len(node.args) != 1:
        raise _semantic(f"Function '{node.name}' expects one argument")
