from __future__ import annotations

import re

import pytest

from server.agent.calculator import (
    MAX_EXPRESSION_LENGTH,
    CalculatorError,
    calculator_tool,
    evaluate,
)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("2*(3+4)", 14),
        ("7/2", 3.5),
        ("10/2", 5),
        ("-3 + +2", -1),
        ("  1.5 * 4  ", 6),
        ("((((1))))", 1),
        ("0.25 - 1", -0.75),
    ],
)
def test_evaluates_arithmetic(expression: str, expected: float) -> None:
    assert evaluate(expression) == expected


def test_integral_results_are_ints() -> None:
    assert type(evaluate("10/2")) is int
    assert type(evaluate("2*(3+4)")) is int
    assert type(evaluate("7/2")) is float


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os')", "function calls"),
        ("2**1000", "'**'"),
        ("1/0", "division by zero"),
        ("1/(2-2)", "division by zero"),
        ("x + 1", "names"),
        ("abs(-1)", "function calls"),
        ("(1).real", "attribute"),
        ("'a' + 'b'", "strings"),
        ("1 < 2", "comparisons"),
        ("7 % 2", "'%'"),
        ("7 // 2", "'//'"),
        ("True + 1", "only numbers"),
        ("2 +", "invalid syntax"),
        ("", "empty"),
        ("1e308 * 10", "too large"),
    ],
)
def test_rejects_unsafe_or_invalid_input(expression: str, message: str) -> None:
    with pytest.raises(CalculatorError, match=re.escape(message)):
        evaluate(expression)


def test_rejects_over_long_input() -> None:
    expression = "+".join(["1"] * (MAX_EXPRESSION_LENGTH // 2 + 1))
    assert len(expression) > MAX_EXPRESSION_LENGTH
    with pytest.raises(CalculatorError, match="too long"):
        evaluate(expression)


def test_rejects_deep_nesting() -> None:
    with pytest.raises(CalculatorError, match="nested too deeply"):
        evaluate("-" * 100 + "1")


def test_calculator_error_is_value_error() -> None:
    assert issubclass(CalculatorError, ValueError)


async def test_tool_returns_number() -> None:
    assert calculator_tool.name == "calculator"
    assert "arithmetic" in calculator_tool.description
    assert set(calculator_tool.args) == {"expression"}
    assert await calculator_tool.ainvoke({"expression": "2*(3+4)"}) == 14
    assert calculator_tool.invoke({"expression": "7/2"}) == 3.5


async def test_tool_raises_calculator_error() -> None:
    with pytest.raises(CalculatorError, match="division by zero"):
        await calculator_tool.ainvoke({"expression": "1/0"})
