"""Events answered on the connection's reader must never wait, or they would stall it."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from namespaces.base import EventNamespace
from server.app_keys import SIO
from tests.harness import LiveServer, connect

# A valid payload for every inline event: a new inline event needs one here to be checked.
PAYLOADS: dict[tuple[str, str], dict[str, Any]] = {
    ("/system", "system:ping"): {"client_time": 1},
    ("/chat", "chat:examples"): {},
}


def without_suspending(step: Coroutine[Any, Any, Any]) -> Any:
    """The coroutine's result if it finishes on its first step; None (and closed) if not."""
    try:
        step.send(None)
    except StopIteration as done:
        return done.value
    step.close()
    return None


async def test_inline_events_answer_without_suspending(server: LiveServer) -> None:
    client, _ = await connect(server, ["/system", "/chat"], {"token": await server.token()})
    try:
        sio = server.app[SIO]
        inline = {
            (namespace, event): handler
            for namespace, handler in sio.namespace_handlers.items()
            if isinstance(handler, EventNamespace)
            for event in handler.inline_events
        }
        assert set(inline) == set(PAYLOADS)
        for (namespace, event), handler in inline.items():
            sid = client.get_sid(namespace)
            step = handler.client_event(sid, event, (PAYLOADS[namespace, event],))
            ack = without_suspending(step)
            assert ack is not None, f"{event} waited: it must not be an inline event"
            assert ack["ok"] is True, ack
    finally:
        await client.disconnect()
