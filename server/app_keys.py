"""Typed application state."""

from __future__ import annotations

from aiohttp import web

from schemas.discovery import WsConfig
from server.agui.runs import AguiRuns
from server.agui.socket_streams import SocketStreams
from server.auth.dev_tokens import DevTokenIssuer
from server.chat.runs import RunRegistry
from server.cluster.orphans import OrphanReaper
from server.cluster.run_control import RunControl
from server.context import ServerContext
from server.metrics import Metrics
from server.readiness import Readiness
from server.realtime.publisher import Publisher
from server.realtime.sio_server import NetraServer
from server.settings import Settings
from server.stores.chat_store import ChatStore
from server.stores.replay_store import ReplayStore

SETTINGS = web.AppKey("settings", Settings)
CONTEXT = web.AppKey("context", ServerContext)
DEV_TOKENS = web.AppKey("dev_tokens", DevTokenIssuer)
READINESS = web.AppKey("readiness", Readiness)
WS_CONFIG = web.AppKey("ws_config", WsConfig)
SIO = web.AppKey("sio", NetraServer)
CHAT_STORE = web.AppKey("chat_store", ChatStore)
RUNS = web.AppKey("runs", RunRegistry)
METRICS = web.AppKey("metrics", Metrics)
REPLAY = web.AppKey("replay", ReplayStore)
RUN_CONTROL = web.AppKey("run_control", RunControl)
ORPHANS = web.AppKey("orphans", OrphanReaper)
PUBLISHER = web.AppKey("publisher", Publisher)
AGUI_RUNS = web.AppKey("agui_runs", AguiRuns)
AGUI_STREAMS = web.AppKey("agui_streams", SocketStreams)
