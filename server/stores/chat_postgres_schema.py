"""The PostgreSQL chat schema: version 1 created, then migrated on to the current version."""

from __future__ import annotations

from typing import Any, Final

from server.stores import chat_sql

# Any bigint unique to this schema; every node takes it before touching the schema.
_SCHEMA_LOCK_KEY: Final = int.from_bytes(b"netra-ws", "big")

# The messages' foreign keys are deferred so a send can claim its (user_id, client_msg_id)
# slot first, before it writes the thread and run the message points to.
_V1: Final = chat_sql.chat_schema(
    seq="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    timestamp="TIMESTAMPTZ",
    deferred=" DEFERRABLE INITIALLY DEFERRED",
)

# Search: a stored tsvector of each title and message text under GIN indexes; 'simple'
# lowercases without stemming or stop words, as SQLite's FTS5 tokenizer does; an answer is
# searchable once it has ended, as in SQLite. Runs gain a
# regeneration's key (user_id, client_msg_id) and the user message it answers; a send's key
# and message are its user message's, so the two kinds of key never collide. runs.reply_to
# is no foreign key: messages point to runs, and the cycle would tie deletes to an order.
# The rows are updated last: updating messages queues its deferred foreign key checks, and
# PostgreSQL refuses to alter or index a table with checks pending.
_V2: Final = """
ALTER TABLE messages ADD COLUMN parts JSONB NOT NULL DEFAULT '[]',
    ADD COLUMN checkpoint_seq BIGINT,
    ADD COLUMN search TSVECTOR GENERATED ALWAYS AS (
        to_tsvector('simple', CASE WHEN status = 'streaming' THEN '' ELSE text END)
    ) STORED;
CREATE INDEX messages_search ON messages USING GIN (search);
ALTER TABLE threads
    ADD COLUMN search TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', title)) STORED;
CREATE INDEX threads_search ON threads USING GIN (search);
ALTER TABLE runs ADD COLUMN user_id TEXT, ADD COLUMN client_msg_id TEXT, ADD COLUMN reply_to TEXT;
CREATE UNIQUE INDEX runs_by_key ON runs (user_id, client_msg_id);
CREATE INDEX runs_by_thread ON runs (thread_id, status);
UPDATE runs SET user_id = threads.user_id FROM threads WHERE threads.id = runs.thread_id;
UPDATE messages SET parts = jsonb_build_array(jsonb_build_object('type', 'text', 'text', text))
    WHERE role = 'assistant' AND text <> '';
"""

# MIGRATIONS[n] takes a database from version n + 1 to n + 2.
MIGRATIONS: Final = (_V2,)


async def migrate(conn: Any) -> None:
    """Create or bring the schema up to chat_sql.SCHEMA_VERSION, in one transaction.

    A new database is created at version 1 and migrated like any other, so every database,
    new or old, ends with the same schema.
    """
    # The transaction-scoped advisory lock serialises nodes starting together: concurrent
    # CREATE ... IF NOT EXISTS statements can otherwise fail on the catalog's unique keys,
    # and only the first node may migrate.
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _SCHEMA_LOCK_KEY)
        await conn.execute(_V1)
        version: int | None = await conn.fetchval("SELECT MAX(version) FROM schema_version")
        chat_sql.check_schema_version(version)
        if version is None:
            await conn.execute("INSERT INTO schema_version (version) VALUES (1)")
            version = 1
        if version == chat_sql.SCHEMA_VERSION:
            return
        for migration in MIGRATIONS[version - 1 :]:
            await conn.execute(migration)
        sql = "UPDATE schema_version SET version = $1"
        await conn.execute(sql, chat_sql.SCHEMA_VERSION)
