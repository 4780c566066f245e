"""Safe arithmetic evaluation and the ``calculator`` tool built on it."""

from __future__ import annotations

import ast
import math

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

MAX_EXPRESSION_LENGTH = 200
MAX_DEPTH = 32
# Integral results inside this range come back as ``int``; it is the range a
# JavaScript client (and JSON number parsers in general) can hold exactly.
MAX_EXACT_INT = 2**53

_BINARY_OPS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
}
_UNSUPPORTED_OPS: dict[type[ast.operator], str] = {
    ast.Pow: "**",
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
}

Number = int | float


class CalculatorError(ValueError):
    """Raised when an expression is invalid, unsupported or cannot be computed."""


def evaluate(expression: str) -> int | float:
    """Evaluate an arithmetic expression without ``eval``.

    Supports int/float literals, binary ``+ - * /``, unary ``+ -`` and
    parentheses. Integral results within +/-2**53 are returned as ``int``.
    Raises ``CalculatorError`` for anything else.
    """
    if not isinstance(expression, str):
        raise CalculatorError("expression must be a string")
    text = expression.strip()
    if not text:
        raise CalculatorError("expression is empty")
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise CalculatorError(
            f"expression is too long ({len(text)} characters, max {MAX_EXPRESSION_LENGTH})"
        )
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise CalculatorError(f"invalid syntax in expression {text!r}") from exc
    except (RecursionError, MemoryError) as exc:
        raise CalculatorError("expression is nested too deeply") from exc

    try:
        result = _eval_node(tree.body, depth=0)
    except ZeroDivisionError as exc:
        raise CalculatorError("division by zero") from exc
    except OverflowError as exc:
        raise CalculatorError("result is too large") from exc
    return _normalize(result)


def _normalize(value: Number) -> Number:
    if isinstance(value, int):
        # Huge integers are not representable by JSON consumers; float keeps magnitude.
        return value if abs(value) <= MAX_EXACT_INT else _normalize(float(value))
    if not math.isfinite(value):
        raise CalculatorError("result is too large or not a finite number")
    if value.is_integer() and abs(value) <= MAX_EXACT_INT:
        return int(value)
    return value


def _eval_node(node: ast.expr, depth: int) -> Number:
    if depth > MAX_DEPTH:
        raise CalculatorError(f"expression is nested too deeply (max depth {MAX_DEPTH})")

    if isinstance(node, ast.Constant):
        value = node.value
        # bool is an int subclass, so it must be rejected explicitly.
        if isinstance(value, str | bytes):
            raise CalculatorError("strings are not allowed; use numbers only")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CalculatorError(f"only numbers are allowed, got {value!r}")
        return value

    if isinstance(node, ast.UnaryOp):
        operand = _eval_node(node.operand, depth + 1)
        if isinstance(node.op, ast.UAdd):
            return +operand
        if isinstance(node.op, ast.USub):
            return -operand
        raise CalculatorError(f"unsupported unary operator {type(node.op).__name__}")

    if isinstance(node, ast.BinOp):
        op_type = type(node.op)
        if op_type not in _BINARY_OPS:
            symbol = _UNSUPPORTED_OPS.get(op_type, op_type.__name__)
            raise CalculatorError(f"unsupported operator {symbol!r}; use + - * / only")
        left = _eval_node(node.left, depth + 1)
        right = _eval_node(node.right, depth + 1)
        if op_type is ast.Add:
            return left + right
        if op_type is ast.Sub:
            return left - right
        if op_type is ast.Mult:
            return left * right
        return left / right

    raise CalculatorError(_describe_unsupported(node))


def _describe_unsupported(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return f"names are not allowed ({node.id!r}); use numbers only"
    if isinstance(node, ast.Call):
        return "function calls are not allowed"
    if isinstance(node, ast.Attribute):
        return "attribute access is not allowed"
    if isinstance(node, ast.Compare):
        return "comparisons are not allowed"
    if isinstance(node, ast.BoolOp):
        return "boolean operators are not allowed"
    return f"unsupported syntax ({type(node).__name__})"


class CalculatorInput(BaseModel):
    """Arguments of the ``calculator`` tool."""

    expression: str = Field(
        description="Arithmetic expression using numbers, + - * /, and parentheses, "
        "e.g. '2*(3+4)'.",
    )


def _calculate(expression: str) -> int | float:
    return evaluate(expression)


async def _acalculate(expression: str) -> int | float:
    return evaluate(expression)


# Errors surface by raising: CalculatorError propagates out of invoke/ainvoke
# (handle_tool_error is left off) so the caller decides how to report it.
calculator_tool: BaseTool = StructuredTool.from_function(
    func=_calculate,
    coroutine=_acalculate,
    name="calculator",
    description=(
        "Evaluate an arithmetic expression and return the numeric result. "
        "Supports integers and decimals, + - * /, unary minus and parentheses, "
        "e.g. '2*(3+4)' -> 14 or '7/2' -> 3.5. No variables, functions or powers."
    ),
    args_schema=CalculatorInput,
)
