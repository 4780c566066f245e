"""Pick the chat history store for a database URL."""

from __future__ import annotations

from server.stores.chat_postgres import POSTGRES_SCHEMES, PostgresChatStore
from server.stores.chat_sqlite import SqliteChatStore
from server.stores.chat_store import ChatStore


def chat_store_from_url(url: str) -> ChatStore:
    """Return an unopened store: SQLite for ``sqlite:///…``, PostgreSQL for
    ``postgresql://…`` or ``postgres://…``; raise ValueError for any other URL."""
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme == "sqlite":
        return SqliteChatStore(url)
    if scheme in POSTGRES_SCHEMES:
        return PostgresChatStore(url)
    # Only the scheme is echoed: other URLs may carry credentials.
    raise ValueError(
        f"unsupported database URL (scheme {scheme[:20]!r}); expected sqlite:///path.db "
        "or postgresql://user:password@host:port/database"
    )
