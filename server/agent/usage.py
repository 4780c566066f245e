"""Token usage of a run, summed over every model call that reported any."""

from __future__ import annotations

from langchain_core.messages.ai import UsageMetadata

from schemas.chat import Usage


class UsageTotal:
    __slots__ = ("_input", "_output", "_reported", "_total")

    def __init__(self) -> None:
        self._input = 0
        self._output = 0
        self._total = 0
        self._reported = False

    def add(self, usage: UsageMetadata | None) -> None:
        if not usage:
            return
        self._reported = True
        self._input += usage.get("input_tokens", 0)
        self._output += usage.get("output_tokens", 0)
        self._total += usage.get("total_tokens", 0)

    def total(self) -> Usage | None:
        """None when no model call reported usage: unknown, not zero."""
        if not self._reported:
            return None
        return Usage(input_tokens=self._input, output_tokens=self._output, total_tokens=self._total)
