"""``business_rules``: tiny, safe record predicates such as ``alloc_qty >= 0``.

Each expression is parsed once with :mod:`ast` and compiled into nested closures; only
names (record fields; a missing field is ``None``), constants, comparisons
(``== != < <= > >=``, ``is None``, ``is not None``), ``and``/``or``/``not`` and
parentheses are allowed — nothing is ``eval``-ed. A comparison with ``None`` on either
side (other than ``is``/``is not``) or between incomparable types is *false*, so the
record is quarantined with the rule as its reason.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from typing import Any

Predicate = Callable[[Mapping[str, Any]], bool]

_CMP: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
    ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
}


class RuleError(ValueError):
    """A business rule uses syntax outside the allowed subset."""


def _value(node: ast.expr, src: str) -> Callable[[Mapping[str, Any]], Any]:
    if isinstance(node, ast.Name):
        name = node.id
        return lambda rec: rec.get(name)
    if isinstance(node, ast.Constant) and isinstance(
        node.value, (int, float, str, bool, type(None))
    ):
        const = node.value
        return lambda rec: const
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(
        node.operand, ast.Constant) and isinstance(node.operand.value, (int, float)):
        neg = -node.operand.value
        return lambda rec: neg
    return _pred(node, src)


def _compare(op: ast.cmpop, left: Callable, right: Callable, src: str) -> Predicate:
    if isinstance(op, (ast.Is, ast.IsNot)):
        want_none = isinstance(op, ast.Is)
        return lambda rec: (right(rec) is None) and ((left(rec) is None) == want_none)
    fn = _CMP.get(type(op))
    if fn is None:
        raise RuleError(f"operator not allowed in rule {src!r}")

    def cmp(rec: Mapping[str, Any]) -> bool:
        a, b = left(rec), right(rec)
        if a is None or b is None:
            return False
        try:
            return bool(fn(a, b))
        except TypeError:
            return False

    return cmp


def _pred(node: ast.expr, src: str) -> Predicate:
    if isinstance(node, ast.BoolOp):
        parts = [_pred(v, src) for v in node.values]
        if isinstance(node.op, ast.And):
            return lambda rec: all(p(rec) for p in parts)
        return lambda rec: any(p(rec) for p in parts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _pred(node.operand, src)
        return lambda rec: not inner(rec)
    if isinstance(node, ast.Compare):
        if any(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops) and not all(
            isinstance(c, ast.Constant) and c.value is None for c in node.comparators
        ):
            raise RuleError(f"'is' only with None in rule {src!r}")
        checks: list[Predicate] = []
        left = _value(node.left, src)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = _value(comp, src)
            checks.append(_compare(op, left, right, src))
            left = right
        return lambda rec: all(c(rec) for c in checks)
    if isinstance(node, ast.Name):
        name = node.id
        return lambda rec: bool(rec.get(name))
    raise RuleError(f"syntax not allowed in rule {src!r}: {type(node).__name__}")


def compile_rule(src: str) -> Predicate:
    """Compile one expression; raise :class:`RuleError` for anything outside the subset."""
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError as exc:
        raise RuleError(f"cannot parse rule {src!r}: {exc.msg}") from exc
    return _pred(tree.body, src)


def compile_rules(sources: list[str]) -> list[tuple[str, Predicate]]:
    """Compile a stream's rules once; each is kept with its text for reject reasons."""
    return [(s, compile_rule(s)) for s in sources]
