"""Thread management in PostgreSQL: paging and searching the list, renaming, deleting."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from server.stores import chat_sql
from server.stores.chat_postgres_queries import owned_thread
from server.stores.chat_records import ThreadPage, ThreadRecord
from server.stores.chat_search import tsquery

# The first page's cursor is past every row, so all pages share one statement per shape.
_END: Final = (datetime.max.replace(tzinfo=UTC), 2**63 - 1)
_PAGE: Final = chat_sql.SELECT_THREAD + " WHERE user_id = $1 AND (updated_at, seq) < ($2, $3)"
# A hashed subplan over the GIN indexes picks the matching threads; the page then walks them
# in activity order through threads_by_activity.
_MATCHING: Final = (
    " AND (search @@ to_tsquery('simple', $5) OR id IN (SELECT thread_id FROM messages"
    " WHERE user_id = $1 AND search @@ to_tsquery('simple', $5)))"
)
_ORDER: Final = " ORDER BY updated_at DESC, seq DESC LIMIT $4"


async def list_threads(
    conn: Any, user_id: str, limit: int, before: str | None, words: list[str]
) -> ThreadPage:
    """Call inside one snapshot, so the cursor's row and the page agree."""
    cursor: tuple[datetime, int] = _END
    if before is not None:
        sql = "SELECT updated_at, seq FROM threads WHERE id = $1 AND user_id = $2"
        anchor = await conn.fetchrow(sql, before, user_id)
        if anchor is None:
            raise chat_sql.thread_missing(before)
        cursor = (anchor["updated_at"], anchor["seq"])
    params: list[object] = [user_id, *cursor, limit + 1]
    if words:
        rows = await conn.fetch(_PAGE + _MATCHING + _ORDER, *params, tsquery(words))
    else:
        rows = await conn.fetch(_PAGE + _ORDER, *params)
    return chat_sql.thread_page(rows, limit)


async def rename(conn: Any, user_id: str, thread_id: str, title: str) -> ThreadRecord:
    sql = "UPDATE threads SET title = $3 WHERE id = $1 AND user_id = $2"
    row = await conn.fetchrow(sql + chat_sql.RETURNING_THREAD, thread_id, user_id, title)
    if row is None:
        raise chat_sql.thread_missing(thread_id)
    return chat_sql.thread_record(row)


async def delete(conn: Any, user_id: str, thread_id: str) -> None:
    """Call inside one transaction."""
    # The lock makes writers of the thread that started first finish first, so the deletes
    # below see their rows; later ones find the thread gone.
    sql = "SELECT 1 FROM threads WHERE id = $1 AND user_id = $2 FOR UPDATE"
    if await conn.fetchval(sql, thread_id, user_id) is None:
        raise chat_sql.thread_missing(thread_id)
    # Messages point to runs and threads, runs to threads: referrers go first. The search
    # vectors are columns of the rows, so they go with them.
    await conn.execute("DELETE FROM messages WHERE thread_id = $1", thread_id)
    await conn.execute("DELETE FROM runs WHERE thread_id = $1", thread_id)
    await conn.execute("DELETE FROM threads WHERE id = $1", thread_id)


async def streaming_runs(conn: Any, user_id: str, thread_id: str) -> list[str]:
    await owned_thread(conn, user_id, thread_id)
    sql = "SELECT id FROM runs WHERE thread_id = $1 AND status = 'streaming' ORDER BY seq"
    return [row["id"] for row in await conn.fetch(sql, thread_id)]
