"""/notes: a user's notes, kept in step across their tabs. An example of a namespace of
one's own, added to the app with `WS_EXTENSIONS=examples.notes:install`.

Everything a namespace needs is here: its payload models, its `NamespaceSpec` (the events),
a store for its state (not on the namespace object: one namespace object serves every
connection), the namespace with typed handlers, and `install`, the one line that adds it.
`notes:added` and `notes:deleted` are user-stream events: numbered, kept for replay and
sent to every tab of the user, so a tab that reconnects with `resume` gets what it missed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from namespaces.base import BoundHandler, EventNamespace, on
from schemas.ack import ErrorCode
from schemas.base import ClientPayload, ServerPayload, UtcDatetime
from schemas.events import (
    ClientEvent,
    EventError,
    NamespaceSpec,
    ServerEvent,
    StreamPayload,
    StreamReady,
)
from server.context import ServerContext
from server.errors import AppError
from server.realtime.assembly import Realtime

NOTES = "/notes"
MAX_NOTES = 200


# Payloads


class Note(ServerPayload):
    id: str
    text: str
    created_at: UtcDatetime


class NotesAdd(ClientPayload):
    text: str = Field(min_length=1, max_length=2000)


class NotesDelete(ClientPayload):
    note_id: str = Field(min_length=1, max_length=64)


class NotesList(ClientPayload):
    pass


class NoteResult(ServerPayload):
    note: Note


class NotesResult(ServerPayload):
    notes: list[Note]


class DeleteResult(ServerPayload):
    deleted: bool


class NoteAdded(StreamPayload):
    note: Note


class NoteDeleted(StreamPayload):
    note_id: str


class NotesReady(StreamReady):
    pass


class NotesError(EventError):
    pass


# The namespace's events

NOTES_ADD = ClientEvent("notes:add", NOTES, NotesAdd, NoteResult, "chat:write")
NOTES_DELETE = ClientEvent("notes:delete", NOTES, NotesDelete, DeleteResult, "chat:write")
NOTES_LIST = ClientEvent("notes:list", NOTES, NotesList, NotesResult, "chat:read")

NOTES_NAMESPACE = NamespaceSpec(
    NOTES,
    "notes",
    (
        NOTES_ADD,
        NOTES_DELETE,
        NOTES_LIST,
        ServerEvent("notes:added", NOTES, NoteAdded),
        ServerEvent("notes:deleted", NOTES, NoteDeleted),
        ServerEvent("notes:ready", NOTES, NotesReady),
        ServerEvent("notes:error", NOTES, NotesError),
    ),
    error=NotesError,
    ready=NotesReady,
)


class NotesStore:
    """Each user's notes, in memory (a real application would use its database)."""

    def __init__(self) -> None:
        self._notes: dict[str, dict[str, Note]] = {}

    def add(self, user_id: str, text: str) -> Note:
        notes = self._notes.setdefault(user_id, {})
        if len(notes) >= MAX_NOTES:
            raise AppError(ErrorCode.CONFLICT, f"At most {MAX_NOTES} notes")
        note = Note(id=uuid.uuid4().hex, text=text, created_at=datetime.now(UTC))
        notes[note.id] = note
        return note

    def delete(self, user_id: str, note_id: str) -> bool:
        return self._notes.get(user_id, {}).pop(note_id, None) is not None

    def list(self, user_id: str) -> list[Note]:
        return list(self._notes.get(user_id, {}).values())


class NotesNamespace(EventNamespace):
    def __init__(self, ctx: ServerContext, store: NotesStore) -> None:
        self.store = store
        super().__init__(NOTES_NAMESPACE, ctx)

    def event_handlers(self) -> Sequence[BoundHandler[Any, Any]]:
        return (
            on(NOTES_ADD, self.add),
            on(NOTES_DELETE, self.delete),
            on(NOTES_LIST, self.list),
        )

    async def add(self, sid: str, payload: NotesAdd) -> NoteResult:
        user = (await self.connection(sid)).principal.id
        note = self.store.add(user, payload.text)
        await self.ctx.emitter.to_user(user, NoteAdded(note=note))
        return NoteResult(note=note)

    async def delete(self, sid: str, payload: NotesDelete) -> DeleteResult:
        user = (await self.connection(sid)).principal.id
        if not self.store.delete(user, payload.note_id):
            raise AppError(ErrorCode.NOT_FOUND, "No such note")
        await self.ctx.emitter.to_user(user, NoteDeleted(note_id=payload.note_id))
        return DeleteResult(deleted=True)

    async def list(self, sid: str, payload: NotesList) -> NotesResult:
        user = (await self.connection(sid)).principal.id
        return NotesResult(notes=self.store.list(user))


def install(realtime: Realtime) -> None:
    """`WS_EXTENSIONS=examples.notes:install`: serve /notes."""
    realtime.include(NotesNamespace(realtime.ctx, NotesStore()))
