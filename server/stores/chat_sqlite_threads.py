"""Thread management in SQLite: paging and searching the list, renaming, deleting."""

from __future__ import annotations

from typing import Final

from server.stores import chat_sql
from server.stores.chat_records import ThreadPage, ThreadRecord
from server.stores.chat_search import fts5_match
from server.stores.chat_sqlite_queries import owned_thread
from server.stores.sqlite_connection import Db, execute, fetch_all, fetch_one

# The FTS5 indexes give the matching rowids (seq); the threads are then walked in activity
# order through threads_by_activity, so a page stops reading once it is full. CROSS JOIN
# keeps the index of message texts the outer loop: left to itself, the planner may instead
# walk all of the user's messages and probe the index with each.
_TITLE_MATCHES: Final = "seq IN (SELECT rowid FROM thread_search WHERE thread_search MATCH ?)"
_TEXT_MATCHES: Final = (
    "id IN (SELECT messages.thread_id FROM message_search"
    " CROSS JOIN messages ON messages.seq = message_search.rowid"
    " WHERE message_search MATCH ? AND messages.user_id = ?)"
)


def page_sql(*, after_cursor: bool, matching: bool) -> str:
    """The statement of one page: parameters user_id, then the cursor's (updated_at, seq),
    then the match expression twice and user_id again, then the row limit."""
    sql = chat_sql.SELECT_THREAD + " WHERE user_id = ?"
    if after_cursor:
        sql += " AND (updated_at, seq) < (?, ?)"
    if matching:
        sql += " AND (" + _TITLE_MATCHES + " OR " + _TEXT_MATCHES + ")"
    return sql + " ORDER BY updated_at DESC, seq DESC LIMIT ?"


def list_threads(
    db: Db, user_id: str, limit: int, before: str | None, words: list[str]
) -> ThreadPage:
    params: list[object] = [user_id]
    if before is not None:
        anchor_sql = "SELECT updated_at, seq FROM threads WHERE id = ? AND user_id = ?"
        anchor = fetch_one(db, anchor_sql, (before, user_id))
        if anchor is None:
            raise chat_sql.thread_missing(before)
        params += [anchor["updated_at"], anchor["seq"]]
    if words:
        match = fts5_match(words)
        params += [match, match, user_id]
    sql = page_sql(after_cursor=before is not None, matching=bool(words))
    rows = fetch_all(db, sql, (*params, limit + 1))
    return chat_sql.thread_page(rows, limit)


def rename(db: Db, user_id: str, thread_id: str, title: str) -> ThreadRecord:
    sql = "UPDATE threads SET title = ? WHERE id = ? AND user_id = ?"
    if execute(db, sql, (title, thread_id, user_id)) == 0:
        raise chat_sql.thread_missing(thread_id)
    return owned_thread(db, user_id, thread_id)


def delete(db: Db, user_id: str, thread_id: str) -> None:
    owned_thread(db, user_id, thread_id)
    # Messages point to runs and threads, runs to threads: referrers go first. The search
    # entries go with their rows (the tables' delete triggers).
    execute(db, "DELETE FROM messages WHERE thread_id = ?", (thread_id,))
    execute(db, "DELETE FROM runs WHERE thread_id = ?", (thread_id,))
    execute(db, "DELETE FROM threads WHERE id = ?", (thread_id,))


def streaming_runs(db: Db, user_id: str, thread_id: str) -> list[str]:
    owned_thread(db, user_id, thread_id)
    sql = "SELECT id FROM runs WHERE thread_id = ? AND status = 'streaming' ORDER BY seq"
    return [row["id"] for row in fetch_all(db, sql, (thread_id,))]
