from __future__ import annotations

from tests.harness import LiveServer


async def test_healthz_answers_while_the_process_lives(server: LiveServer) -> None:
    status, body = await server.get_json("/healthz")
    assert (status, body) == (200, {"status": "ok"})


async def test_readyz_reports_each_backing_service(server: LiveServer) -> None:
    status, body = await server.get_json("/readyz")
    assert status == 200
    assert body["status"] == "ready"
    assert all(state == "ok" for state in body["checks"].values())


async def test_readyz_is_503_naming_the_failing_service(server: LiveServer) -> None:
    from server.app_keys import READINESS

    async def broken() -> None:
        raise ConnectionError("refused")

    server.app[READINESS].register("database", broken)
    status, body = await server.get_json("/readyz")
    assert status == 503
    assert body["status"] == "not_ready"
    assert body["checks"]["database"] == "ConnectionError: refused"
