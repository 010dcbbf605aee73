"""Argo Rollouts' success/failure conditions, evaluated the way its evaluator does.

Argo writes conditions in expr-lang (`result.verdict == "pass"`, `len(result) == 0 || result[0] <= 0.01`).
The demo needs the same outcome table, so it translates that subset of expr to a Python
expression tree and walks it with a whitelist: nothing is `eval`ed.
"""

import ast
import math
import re
from collections.abc import Callable
from enum import StrEnum
from typing import Any


class Phase(StrEnum):
    """Measurement phases, spelled as Argo spells them."""

    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    INCONCLUSIVE = "Inconclusive"
    ERROR = "Error"


class ConditionError(ValueError):
    """A condition that does not parse or does not evaluate to a boolean (Argo: Error)."""


_STRINGS = re.compile(r"(\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*')")
_OPERATORS = [(re.compile(r"&&"), " and "), (re.compile(r"\|\|"), " or "), (re.compile(r"!(?!=)"), " not ")]


def _to_python(expression: str) -> str:
    """Rewrite expr operators outside string literals: `&&`, `||`, `!`."""
    parts = _STRINGS.split(expression)
    for i in range(0, len(parts), 2):  # even indexes are outside string literals
        for pattern, replacement in _OPERATORS:
            parts[i] = pattern.sub(replacement, parts[i])
    return "".join(parts).strip()


def _is_nil(value: Any) -> bool:
    return value is None


def _default(value: Any, fallback: Any) -> Any:
    return fallback if value is None else value


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len,
    "asInt": int,
    "asFloat": float,
    "isNaN": math.isnan,
    "isInf": math.isinf,
    "isNil": _is_nil,
    "default": _default,
}

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: lambda a, b: bool(a == b),
    ast.NotEq: lambda a, b: bool(a != b),
    ast.Lt: lambda a, b: bool(a < b),
    ast.LtE: lambda a, b: bool(a <= b),
    ast.Gt: lambda a, b: bool(a > b),
    ast.GtE: lambda a, b: bool(a >= b),
    ast.In: lambda a, b: a in b,
}

_ARITHMETIC: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}


def _walk(node: ast.AST, result: Any) -> Any:
    match node:
        case ast.Expression(body=body):
            return _walk(body, result)
        case ast.Constant(value=value):
            return value
        case ast.Name(id="result"):
            return result
        case ast.Name(id="true"):
            return True
        case ast.Name(id="false"):
            return False
        case ast.Name(id="nil"):
            return None
        case ast.Attribute(value=value, attr=attr):
            container = _walk(value, result)
            if not isinstance(container, dict) or attr not in container:
                raise ConditionError(f"no field {attr!r} in {container!r}")
            return container[attr]
        case ast.Subscript(value=value, slice=index):
            container = _walk(value, result)
            try:
                return container[_walk(index, result)]
            except (IndexError, KeyError, TypeError) as exc:
                raise ConditionError(f"cannot index {container!r}: {exc}") from exc
        case ast.BoolOp(op=op, values=values):
            evaluated = (_walk(v, result) for v in values)
            return all(evaluated) if isinstance(op, ast.And) else any(evaluated)
        case ast.UnaryOp(op=ast.Not(), operand=operand):
            return not _walk(operand, result)
        case ast.UnaryOp(op=ast.USub(), operand=operand):
            return -_walk(operand, result)
        case ast.BinOp(left=left, op=op, right=right) if type(op) in _ARITHMETIC:
            return _ARITHMETIC[type(op)](_walk(left, result), _walk(right, result))
        case ast.Compare(left=left, ops=ops, comparators=comparators):
            current = _walk(left, result)
            for comparison, comparator in zip(ops, comparators, strict=True):
                following = _walk(comparator, result)
                if type(comparison) not in _COMPARE:
                    raise ConditionError(f"unsupported comparison {type(comparison).__name__}")
                try:
                    if not _COMPARE[type(comparison)](current, following):
                        return False
                except TypeError as exc:
                    raise ConditionError(str(exc)) from exc
                current = following
            return True
        case ast.Call(func=ast.Name(id=name), args=args) if name in FUNCTIONS:
            try:
                return FUNCTIONS[name](*(_walk(a, result) for a in args))
            except (TypeError, ValueError) as exc:
                raise ConditionError(f"{name}(): {exc}") from exc
    raise ConditionError(f"unsupported expression: {ast.dump(node)[:80]}")


def evaluate_condition(expression: str, result: Any) -> bool:
    """Evaluate one condition against a measurement's `result`; it must yield a boolean."""
    try:
        tree = ast.parse(_to_python(expression), mode="eval")
    except SyntaxError as exc:
        raise ConditionError(f"cannot parse {expression!r}: {exc.msg}") from exc
    value = _walk(tree, result)
    if not isinstance(value, bool):
        raise ConditionError(f"{expression!r} evaluated to {value!r}, not a boolean")
    return value


def measurement_phase(result: Any, success: str | None, failure: str | None) -> Phase:
    """Argo's outcome table: failure wins; with both set, neither true is Inconclusive."""
    try:
        failed = failure is not None and evaluate_condition(failure, result)
        succeeded = success is not None and evaluate_condition(success, result)
    except ConditionError:
        return Phase.ERROR
    if failed:
        return Phase.FAILED
    if success is None:
        return Phase.SUCCESSFUL
    if succeeded:
        return Phase.SUCCESSFUL
    return Phase.INCONCLUSIVE if failure is not None else Phase.FAILED
