"""Replaces python-engineio's `engineio.async_server.AsyncServer._handle_connect`: the same
handshake, with two differences in what a connection holds for its whole life.

- Its socket is `TimerPingSocket` (socket_ping.py): pings on the loop's timer wheel instead
  of a task per connection. Upstream names `AsyncSocket` here, with no way to pass another.
- The OPEN packet is not kept: upstream's frame holds it (a packet, its dict and list) for as
  long as the websocket it goes on to serve is open. Opening the socket is a step of its own
  (`open_socket`), whose frame is gone once the socket is open; websocket_connect.py opens
  websockets with it too.
"""

from __future__ import annotations

from typing import Any

import engineio
from engineio import exceptions, packet

from server.realtime.overrides.socket_ping import TimerPingSocket
from server.realtime.overrides.upstream import Upstream

UPSTREAM = (
    Upstream(
        "engineio.async_server",
        "AsyncServer._handle_connect",
        sha256="5bd7edc1d1ae115ae973b4a39b435d3b243a3c9b1e3218f21bbeb7ef6aa37e93",
    ),
)


class EngineHandleConnect(engineio.AsyncServer):  # type: ignore[misc]
    start_service_task: bool

    async def _handle_connect(
        self, environ: dict[str, Any], transport: str, jsonp_index: int | None = None
    ) -> Any:
        s, refused = await self.open_socket(environ, transport)
        if s is None:
            return refused
        sid = s.sid

        if transport == "websocket":
            ret = await s.handle_get_request(environ)
            if s.closed and sid in self.sockets:
                # websocket connection ended, so we are done
                del self.sockets[sid]
            return ret
        s.connected = True
        headers = None
        if self.cookie:
            if isinstance(self.cookie, dict):
                headers = [("Set-Cookie", self._generate_sid_cookie(sid, self.cookie))]
            else:
                cookie = {"name": self.cookie, "path": "/", "SameSite": "Lax"}
                headers = [("Set-Cookie", self._generate_sid_cookie(sid, cookie))]
        try:
            return self._ok(await s.poll(), headers=headers, jsonp_index=jsonp_index)
        except exceptions.QueueEmpty:
            return self._bad_request()

    async def open_socket(
        self, environ: dict[str, Any], transport: str
    ) -> tuple[TimerPingSocket | None, Any]:
        """A new Engine.IO socket with its OPEN packet queued and the application's connect
        handler run: (the socket, None), or (None, the refusal to answer with)."""
        if self.start_service_task:
            # start the service task to monitor connected clients
            self.start_service_task = False
            self.service_task_handle = self.start_background_task(self._service_task)

        sid = self.generate_id()
        s = TimerPingSocket(self, sid)
        self.sockets[sid] = s

        opened = {
            "sid": sid,
            "upgrades": self._upgrades(sid, transport),
            "pingTimeout": int(self.ping_timeout * 1000),
            "pingInterval": int(self.ping_interval + self.ping_interval_grace_period) * 1000,
            "maxPayload": self.max_http_buffer_size,
        }
        # What `s.send` does for a socket just made (its ping timeout cannot have passed).
        await s.queue.put(packet.Packet(packet.OPEN, opened))
        self.logger.info("%s: Sending packet OPEN data %s", sid, opened)

        ret = await self._trigger_event("connect", sid, environ, run_async=False)
        if ret is not None and ret is not True:
            del self.sockets[sid]
            self.logger.warning("Application rejected connection")
            return None, self._unauthorized(ret or None)

        s.schedule_ping()
        return s, None
