"""Turning what a user typed into a full-text query both databases accept as is.

Only runs of letters and digits are kept, so no character a user types can reach the query
syntax (FTS5's quotes, `*`, `NEAR(`, `-`, `:`; tsquery's `&`, `!`, `'`). Every word must
match, each as a prefix, so the words being typed already find "planets" from "plan".
"""

from __future__ import annotations

import re
from typing import Final

# Letters and digits in any script; `_` and everything else separate words, as they do
# for both databases' tokenizers.
_WORD: Final = re.compile(r"[^\W_]+")


def search_words(query: str | None) -> list[str]:
    """The words of a query; none (no filter) for None, blank or punctuation-only input."""
    return _WORD.findall(query) if query else []


def fts5_match(words: list[str]) -> str:
    """An SQLite FTS5 MATCH expression: every word, quoted, as a prefix."""
    return " ".join(f'"{word}"*' for word in words)


def tsquery(words: list[str]) -> str:
    """A PostgreSQL to_tsquery expression: every word, quoted, as a prefix."""
    return " & ".join(f"'{word}':*" for word in words)
