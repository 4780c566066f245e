"""The application factory: one aiohttp app hosting the Socket.IO server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from loguru import logger

from namespaces.agui import AguiNamespace
from namespaces.chat import ChatNamespace
from namespaces.system import SystemNamespace
from schemas.registry import Registry
from schemas.system import SystemShutdown
from server.agent.loader import build_agent
from server.agui.runs import AguiRuns
from server.agui.socket_streams import SocketStreams
from server.app_keys import (
    AGUI_STREAMS,
    CHAT_STORE,
    CONTEXT,
    DEV_TOKENS,
    METRICS,
    ORPHANS,
    PUBLISHER,
    READINESS,
    REPLAY,
    RUN_CONTROL,
    RUNS,
    SETTINGS,
    SIO,
    WS_CONFIG,
)
from server.auth.dev_tokens import DevTokenIssuer, dev_signing_secret
from server.auth.token_watch import TokenWatch
from server.auth.verifier import TokenVerifier
from server.chat.answering import Answering
from server.chat.checkpoints import AnswerCheckpointer
from server.chat.runs import RunRegistry
from server.chat.service import ChatService
from server.chat.threads import Threads
from server.cluster import setup as cluster
from server.cluster.manager import ClusterManager
from server.cluster.orphans import OrphanReaper
from server.context import ServerContext
from server.http import agui as agui_route
from server.http import dev_login, discovery, health, web_client
from server.http import metrics as metrics_route
from server.http import publish as publish_route
from server.metrics import Metrics
from server.readiness import Readiness
from server.realtime.assembly import Realtime, load_extensions
from server.realtime.bad_frames import BadFrames
from server.realtime.connection import ConnectionRegistry
from server.realtime.discovery import SOCKETIO_PATH, build_ws_config
from server.realtime.emitter import Emitter
from server.realtime.limits import ConnectionCap, RateLimiter
from server.realtime.origins import OriginPolicy, origin_middlewares
from server.realtime.publisher import Publisher
from server.realtime.sampled_log import SampledLog
from server.realtime.sio_server import NetraServer
from server.realtime.topics import Topics
from server.settings import Settings
from server.stores.factory import chat_store_from_url

SHUTDOWN_RECONNECT_AFTER_MS = 1000


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=settings.max_payload_bytes)
    app[SETTINGS] = settings
    app[READINESS] = Readiness()

    signing_secret = dev_signing_secret(settings) if settings.auth_mode == "dev" else None
    manager = cluster.client_manager(settings)
    # Lines anyone can cause (refusals, bad frames) are written within one budget per kind.
    log_sampler = SampledLog()
    # One decision for the socket and /api: the middleware refuses and logs, python-engineio
    # applies the same rule to its own CORS headers.
    origins = OriginPolicy(settings.allowed_origins)
    app.middlewares.extend(origin_middlewares(origins, log_sampler))
    metrics = Metrics()
    app[METRICS] = metrics
    sio = NetraServer(
        async_mode="aiohttp",
        cors_allowed_origins=origins.engineio_check,
        transports=list(settings.transports),
        ping_interval=settings.ping_interval_s,
        ping_timeout=settings.ping_timeout_s,
        max_http_buffer_size=settings.max_payload_bytes,
        max_outbound_queue=settings.max_outbound_queue,
        websocket_compression=settings.websocket_compression,
        bad_frames=BadFrames(settings.max_bad_frames, metrics.count_bad_frame, log_sampler),
        polling_body_timeout_s=settings.polling_body_timeout_s,
        client_manager=manager,
        logger=False,
        engineio_logger=False,
    )
    metrics.polling_posts_in_flight.set_function(lambda: sio.eio.posts_in_flight)
    replay = cluster.replay_store(settings)
    registry = Registry(())
    subscriber = cluster.stream_subscriber(settings)
    emitter = Emitter(sio, replay, metrics, registry=registry, outbound=sio, follower=subscriber)
    sio.sink = emitter  # every packet python-socketio sends leaves through the Emitter too
    if subscriber is not None:
        subscriber.bind(emitter.deliver_published, emitter.catch_up_all)
    app[REPLAY] = replay
    ctx = ServerContext(
        settings=settings,
        verifier=TokenVerifier(settings, signing_secret),
        emitter=emitter,
        metrics=metrics,
        token_watch=TokenWatch(
            sio, emitter, settings.token_expiry_warning_s, settings.token_expiry_grace_s
        ),
        rate_limiter=RateLimiter.from_settings(settings),
        connection_cap=ConnectionCap(settings.max_connections_per_user),
        connections=ConnectionRegistry(),
        log_sampler=log_sampler,
        registry=registry,
    )
    publisher = Publisher(emitter, Topics())
    store = chat_store_from_url(settings.database_url)
    runs = RunRegistry()
    control = cluster.run_control(settings, runs)
    checkpoints = AnswerCheckpointer(
        store, interval_ms=settings.checkpoint_interval_ms, max_chars=settings.checkpoint_chars
    )
    answering = Answering(
        store,
        emitter,
        build_agent(settings),
        runs,
        metrics,
        settings.approval_timeout_s,
        control,
        checkpoints,
        sends_in_place=not settings.redis_url,
    )
    chat = ChatService(
        store,
        emitter,
        answering,
        runs,
        settings.max_message_chars,
        settings.agent_context_chars,
        control,
    )
    if control is not None:
        app[ORPHANS] = OrphanReaper(store, emitter, control, runs, settings.run_owner_ttl_s)
        app[RUN_CONTROL] = control
    app[CONTEXT] = ctx
    app[SIO] = sio
    app[CHAT_STORE] = store
    app[RUNS] = runs
    app[PUBLISHER] = publisher
    realtime = Realtime(app, sio, ctx, publisher)
    realtime.include(SystemNamespace(ctx))
    realtime.include(ChatNamespace(ctx, chat, Threads(store, emitter, runs, control)))
    agui_runs = AguiRuns(chat, store, emitter)
    app[AGUI_STREAMS] = SocketStreams()
    realtime.include(AguiNamespace(ctx, agui_runs, app[AGUI_STREAMS]))
    for extension in load_extensions(settings.extensions):
        extension(realtime)
    app[WS_CONFIG] = build_ws_config(settings, registry, replay_enabled=True)
    if settings.admin_ui and settings.admin_password is not None:
        # Read-only in production: watching is fine there, kicking users out is not.
        sio.instrument(
            auth={
                "username": settings.admin_username,
                "password": settings.admin_password.get_secret_value(),
            },
            mode="production" if settings.is_production else "development",
            read_only=settings.is_production,
        )
    sio.attach(app, socketio_path=SOCKETIO_PATH.strip("/"))

    health.add_routes(app)
    metrics_route.add_routes(app)
    discovery.add_routes(app)
    publish_route.add_routes(app)
    agui_route.add_routes(app, agui_runs)
    if signing_secret is not None:
        app[DEV_TOKENS] = DevTokenIssuer(
            signing_secret, settings.dev_token_ttl_s, settings.jwt_issuer, settings.jwt_audience
        )
        dev_login.add_routes(app)
    web_client.add_routes(app, Path(settings.client_dist))

    app.cleanup_ctx.append(_replay_store)
    if subscriber is not None:
        # Stops after the runs, which still emit their last events, and before the store.
        app.cleanup_ctx.append(lambda _: subscriber.running())
    app.cleanup_ctx.append(_chat_store)
    # Between the store and the runs: it stops after every run has stored its end.
    app.cleanup_ctx.append(lambda _: checkpoints.running())
    app.cleanup_ctx.append(_runs)
    # First to stop: AG-UI streams on the socket read the stores and the user's streams.
    app.cleanup_ctx.append(_agui_streams)
    app.cleanup_ctx.append(_announce)
    app.on_shutdown.append(_shut_down_gracefully)
    return app


async def _replay_store(app: web.Application) -> AsyncIterator[None]:
    replay = app[REPLAY]
    await replay.open()
    if app[SETTINGS].redis_url:
        app[READINESS].register("redis", lambda: cluster.check_redis(replay))
    yield
    app[READINESS].unregister("redis")
    manager = app[SIO].manager
    if isinstance(manager, ClusterManager):
        await manager.close()
    await app[CONTEXT].emitter.close()
    await replay.close()


async def _chat_store(app: web.Application) -> AsyncIterator[None]:
    store = app[CHAT_STORE]
    await store.open()
    if not app[SETTINGS].redis_url:
        # Alone, any answer still "streaming" was cut off by this node's last stop. In a
        # cluster it may be another node's live run: the orphan reaper decides there.
        interrupted = await store.fail_interrupted_runs()
        if interrupted:
            logger.warning("{} answers were cut off by the last stop; marked failed", interrupted)
    app[READINESS].register("database", store.ping)
    yield
    app[READINESS].unregister("database")
    await store.close()


async def _runs(app: web.Application) -> AsyncIterator[None]:
    control = app.get(RUN_CONTROL)
    reaper: asyncio.Task[None] | None = None
    if control is not None:
        await control.open()
        reaper = asyncio.create_task(app[ORPHANS].run_forever(), name="orphan-reaper")
    yield
    if reaper is not None:
        reaper.cancel()
        await asyncio.gather(reaper, return_exceptions=True)
    # Runs still going are stopped and stored as such before the store closes.
    await app[RUNS].stop_all()
    if control is not None:
        await control.close()
    await app[CONTEXT].token_watch.close()


async def _agui_streams(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[AGUI_STREAMS].close()


async def _announce(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    logger.info(
        "netra-ws ready env={} auth={} deployment={}",
        settings.env,
        settings.auth_mode,
        settings.deployment_id,
    )
    yield
    logger.info("netra-ws stopped")


async def _shut_down_gracefully(app: web.Application) -> None:
    """The listening socket is already closed: tell clients, let answers finish up to the
    grace period and store the rest as stopped. aiohttp then drops the open connections,
    which clients take as a transport loss and reconnect from."""
    settings = app[SETTINGS]
    emitter = app[CONTEXT].emitter
    runs = app[RUNS]
    await emitter.to_namespace(SystemShutdown(reconnect_after_ms=SHUTDOWN_RECONNECT_AFTER_MS))
    if not await runs.wait_idle(settings.shutdown_grace_s):
        logger.warning("stopping answers still running after {}s", settings.shutdown_grace_s)
    await runs.stop_all()
