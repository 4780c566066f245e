"""The SQLite chat schema: version 1 created, then migrated on to the current version."""

from __future__ import annotations

from typing import Final

from server.stores import chat_sql
from server.stores.sqlite_connection import Db, execute, fetch_one

_V1: Final = chat_sql.chat_schema(seq="INTEGER PRIMARY KEY AUTOINCREMENT", timestamp="TEXT")


# FTS5 indexes over the thread titles and the message texts, with the tables as their
# external content (rowid = seq), kept in step by triggers; the rows a version 1 database
# already has are indexed as the index is made. Answers still streaming are left out: their
# text changes at every checkpoint, and they are found once they end.
_SEARCH: Final = (
    "CREATE VIRTUAL TABLE thread_search USING fts5"
    " (title, content = 'threads', content_rowid = 'seq', prefix = '2 3')",
    "CREATE TRIGGER thread_search_insert AFTER INSERT ON threads BEGIN"
    " INSERT INTO thread_search (rowid, title) VALUES (new.seq, new.title); END",
    "CREATE TRIGGER thread_search_delete AFTER DELETE ON threads BEGIN"
    " INSERT INTO thread_search (thread_search, rowid, title)"
    " VALUES ('delete', old.seq, old.title); END",
    "CREATE TRIGGER thread_search_update AFTER UPDATE OF title ON threads BEGIN"
    " INSERT INTO thread_search (thread_search, rowid, title)"
    " VALUES ('delete', old.seq, old.title);"
    " INSERT INTO thread_search (rowid, title) VALUES (new.seq, new.title); END",
    "INSERT INTO thread_search (thread_search) VALUES ('rebuild')",
    "CREATE VIRTUAL TABLE message_search USING fts5"
    " (text, content = 'messages', content_rowid = 'seq', prefix = '2 3')",
    # An answer is indexed once it has ended, not at each checkpoint while it streams.
    "CREATE TRIGGER message_search_insert AFTER INSERT ON messages BEGIN"
    " INSERT INTO message_search (rowid, text) SELECT new.seq, new.text"
    " WHERE new.status != 'streaming'; END",
    "CREATE TRIGGER message_search_delete AFTER DELETE ON messages BEGIN"
    " INSERT INTO message_search (message_search, rowid, text)"
    " SELECT 'delete', old.seq, old.text WHERE old.status != 'streaming'; END",
    "CREATE TRIGGER message_search_update AFTER UPDATE OF text, status ON messages BEGIN"
    " INSERT INTO message_search (message_search, rowid, text)"
    " SELECT 'delete', old.seq, old.text WHERE old.status != 'streaming';"
    " INSERT INTO message_search (rowid, text) SELECT new.seq, new.text"
    " WHERE new.status != 'streaming'; END",
    "INSERT INTO message_search (rowid, text)"
    " SELECT seq, text FROM messages WHERE status != 'streaming'",
)

# Runs gain a regeneration's key (user_id, client_msg_id) and the user message it answers;
# a send's key and message are its user message's, so the two kinds of key never collide.
# runs.reply_to is no foreign key: messages point to runs, and a cycle would leave no order
# in which a thread's rows can be deleted.
_V2: Final = (
    "ALTER TABLE messages ADD COLUMN parts TEXT NOT NULL DEFAULT '[]'",
    "ALTER TABLE messages ADD COLUMN checkpoint_seq INTEGER",
    "UPDATE messages SET parts = json_array(json_object('type', 'text', 'text', text))"
    " WHERE role = 'assistant' AND text != ''",
    "ALTER TABLE runs ADD COLUMN user_id TEXT",
    "ALTER TABLE runs ADD COLUMN client_msg_id TEXT",
    "ALTER TABLE runs ADD COLUMN reply_to TEXT",
    "UPDATE runs SET user_id = (SELECT user_id FROM threads WHERE threads.id = runs.thread_id)",
    "CREATE UNIQUE INDEX runs_by_key ON runs (user_id, client_msg_id)",
    "CREATE INDEX runs_by_thread ON runs (thread_id, status)",
    *_SEARCH,
)

# MIGRATIONS[n] takes a database from version n + 1 to n + 2.
MIGRATIONS: Final = (_V2,)


def migrate(db: Db) -> None:
    """Create or bring the schema up to chat_sql.SCHEMA_VERSION; call inside a transaction.

    A new database is created at version 1 and migrated like any other, so every database,
    new or old, ends with the same schema.
    """
    for statement in filter(str.strip, _V1.split(";")):
        execute(db, statement)
    row = fetch_one(db, "SELECT MAX(version) AS version FROM schema_version")
    version: int | None = None if row is None else row["version"]
    chat_sql.check_schema_version(version)
    if version is None:
        execute(db, "INSERT INTO schema_version (version) VALUES (1)")
        version = 1
    if version == chat_sql.SCHEMA_VERSION:
        return
    for migration in MIGRATIONS[version - 1 :]:
        for statement in migration:
            execute(db, statement)
    sql = "UPDATE schema_version SET version = ?"
    execute(db, sql, (chat_sql.SCHEMA_VERSION,))
