"""The canonical ``calculator`` tool: safe arithmetic, no ``eval``.

The expression is parsed with :mod:`ast` and evaluated by walking the tree, allowing only numeric
literals, ``+ - * / // % **``, unary ``+``/``-``, parentheses, and a whitelist of functions and
constants. Names, attributes, subscripts, keywords, comparisons and everything else are refused.
The size of the work is bounded: the expression's length, and the size of integer results
(checked *before* a power or product is computed, so ``9**9**9`` is refused, not attempted).
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any, ClassVar

from understudy.errors import InvalidToolArgumentsError
from understudy.protocols import Sandbox
from understudy.tools.base import ToolOutcome
from understudy.tools.common import validate_arguments

MAX_EXPRESSION_CHARS = 1000
MAX_INT_BITS = 10_000
"""Largest integer result (about 3000 decimal digits)."""
MAX_EXPONENT = 10_000
"""Largest exponent of a power whose base is not 0, 1 or -1."""

Number = int | float

FUNCTIONS: dict[str, Callable[..., Number]] = {
    "sqrt": math.sqrt,
    "log": math.log,
    "exp": math.exp,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
}
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_SYMBOLS: dict[type[ast.AST], str] = {
    ast.BitXor: "^ (use ** for powers)",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.MatMult: "@",
    ast.Invert: "~",
    ast.Not: "not",
}


class CalculatorError(InvalidToolArgumentsError):
    """An expression the calculator cannot or will not evaluate."""


def evaluate(expression: str) -> Number:
    """The value of an arithmetic expression; CalculatorError for anything else."""
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise CalculatorError(
            f"the expression is too long ({len(expression)} characters; at most "
            f"{MAX_EXPRESSION_CHARS})"
        )
    if not expression.strip():
        raise CalculatorError("the expression is empty")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as error:
        raise CalculatorError(f"invalid expression: {error.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise CalculatorError("the expression is too deeply nested or malformed") from None
    try:
        return _Evaluator().visit(tree.body)
    except CalculatorError:
        raise
    except ZeroDivisionError:
        raise CalculatorError("division by zero") from None
    except OverflowError:
        raise CalculatorError("the result is too large") from None
    except RecursionError:
        raise CalculatorError("the expression is too deeply nested") from None
    except (ValueError, TypeError) as error:
        raise CalculatorError(f"cannot evaluate the expression: {error}") from None


def format_number(value: Number) -> str:
    """How a result is shown: integers exactly, floats as Python's shortest repr."""
    return str(value) if isinstance(value, int) else repr(value)


class _Evaluator(ast.NodeVisitor):
    def visit(self, node: ast.AST) -> Number:
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            raise CalculatorError(f"{_describe(node)} is not allowed in a calculator expression")
        result: Number = method(node)
        return result

    def visit_Constant(self, node: ast.Constant) -> Number:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CalculatorError(f"only numbers are allowed, not {value!r}")
        return value

    def visit_Name(self, node: ast.Name) -> Number:
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        known = ", ".join(sorted(CONSTANTS))
        raise CalculatorError(f"unknown name {node.id!r}; the known constants are {known}")

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Number:
        operand = self.visit(node.operand)
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return +operand
        raise CalculatorError(f"the operator {_describe(node.op)} is not supported")

    def visit_BinOp(self, node: ast.BinOp) -> Number:
        function = _BINARY.get(type(node.op))
        if function is None:
            raise CalculatorError(f"the operator {_describe(node.op)} is not supported")
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        elif isinstance(node.op, ast.Mult):
            _check_product(left, right)
        result = function(left, right)
        if isinstance(result, complex):
            raise CalculatorError("the result is not a real number")
        _check_size(result)
        return result

    def visit_Call(self, node: ast.Call) -> Number:
        if not isinstance(node.func, ast.Name):
            raise CalculatorError(f"calling the result of {_describe(node.func)} is not allowed")
        if node.func.id not in FUNCTIONS:
            known = ", ".join(sorted(FUNCTIONS))
            raise CalculatorError(
                f"unknown function {node.func.id!r}; the known functions are {known}"
            )
        if node.keywords:
            raise CalculatorError(f"{node.func.id}() takes no keyword arguments")
        if any(isinstance(argument, ast.Starred) for argument in node.args):
            raise CalculatorError("starred arguments are not allowed")
        arguments = [self.visit(argument) for argument in node.args]
        if node.func.id == "round" and len(arguments) == 2 and not isinstance(arguments[1], int):
            raise CalculatorError("round() needs a whole number of digits")
        result = FUNCTIONS[node.func.id](*arguments)
        _check_size(result)
        return result


def _describe(node: ast.AST) -> str:
    if type(node) in _SYMBOLS:
        return _SYMBOLS[type(node)]
    if isinstance(node, ast.Attribute):
        return "attribute access"
    if isinstance(node, ast.Subscript):
        return "subscripting"
    return type(node).__name__


def _bits(value: Number) -> int:
    return abs(value).bit_length() if isinstance(value, int) else 0


def _check_power(base: Number, exponent: Number) -> None:
    if abs(exponent) > MAX_EXPONENT and base not in (0, 1, -1):
        raise CalculatorError(f"the exponent {exponent} is too large (at most {MAX_EXPONENT})")
    # A lower bound of the result's size: refuse before computing. Results between the bound
    # and twice the limit are computed (cheaply) and refused by _check_size.
    whole = isinstance(base, int) and isinstance(exponent, int)
    if whole and exponent > 0 and (_bits(base) - 1) * exponent > MAX_INT_BITS:
        raise CalculatorError("the result is too large")


def _check_product(left: Number, right: Number) -> None:
    if _bits(left) + _bits(right) > MAX_INT_BITS + 1:
        raise CalculatorError("the result is too large")


def _check_size(value: Number) -> None:
    if _bits(value) > MAX_INT_BITS:
        raise CalculatorError("the result is too large")


class CalculatorTool:
    """Evaluates arithmetic expressions without running any code."""

    name: str = "calculator"
    read_only: bool = True
    needs_sandbox: bool = False
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "expression": {
                "type": "string",
                "maxLength": MAX_EXPRESSION_CHARS,
                "description": "Arithmetic: numbers, + - * / // % **, parentheses, "
                + ", ".join(sorted(FUNCTIONS))
                + ", "
                + ", ".join(sorted(CONSTANTS))
                + ".",
            }
        },
        "required": ["expression"],
        "additionalProperties": False,
    }

    async def run(self, arguments: dict[str, Any], sandbox: Sandbox | None) -> ToolOutcome:
        """The value of ``expression``; InvalidToolArgumentsError when it cannot be evaluated."""
        validate_arguments(self.name, self.parameters, arguments)
        value = evaluate(arguments["expression"])
        meta: dict[str, Any] = {"value": value if isinstance(value, int) else float(value)}
        if isinstance(value, float) and not math.isfinite(value):
            meta = {}
        return ToolOutcome(content=format_number(value), meta=meta)
