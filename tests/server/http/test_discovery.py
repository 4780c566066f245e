from __future__ import annotations

from tests.conftest import SettingsFactory
from tests.harness import LiveServer, live_server


async def test_ws_config_tells_a_client_everything_about_the_socket(server: LiveServer) -> None:
    status, config = await server.get_json("/api/ws-config")
    assert status == 200
    assert config["protocol_version"] == 1
    assert config["server_version"]
    assert config["deployment_id"] == server.settings.deployment_id
    assert config["path"] == "/socket.io"
    assert config["namespaces"] == {"agui": "/agui", "chat": "/chat", "system": "/system"}
    assert config["transports"] == ["websocket", "polling"]
    assert config["auth"] == {"mode": "dev", "dev_login_url": "/api/auth/dev-login"}
    assert set(config["reconnection"]) == {"delay_ms", "delay_max_ms", "randomization", "attempts"}
    assert set(config["timeouts"]) == {
        "ping_interval_ms",
        "ping_timeout_ms",
        "ack_timeout_ms",
        "connect_timeout_ms",
    }
    assert config["limits"] == {
        "max_payload_bytes": server.settings.max_payload_bytes,
        "max_message_chars": server.settings.max_message_chars,
        "events_per_minute": server.settings.rate_limit_per_min,
    }
    assert set(config["replay"]) == {"enabled", "max_events", "ttl_s"}


async def test_ws_config_follows_the_settings(make_settings: SettingsFactory) -> None:
    settings = make_settings(
        auth_mode="jwt",
        jwt_secret="k" * 40,
        public_url="https://chat.example",
        transports=["websocket"],
        ping_interval_s=7,
        reconnect_delay_ms=250,
    )
    async with live_server(settings) as live:
        _, config = await live.get_json("/api/ws-config")
    assert config["url"] == "https://chat.example"
    assert config["transports"] == ["websocket"]
    assert config["auth"] == {"mode": "jwt", "dev_login_url": None}
    assert config["timeouts"]["ping_interval_ms"] == 7000
    assert config["reconnection"]["delay_ms"] == 250


async def test_ws_schema_describes_every_registered_event(server: LiveServer) -> None:
    from schemas.registry import EVENTS

    status, schema = await server.get_json("/api/ws-schema")
    assert status == 200
    assert set(schema["events"]) == {spec.name for spec in EVENTS}
    ping = schema["events"]["system:ping"]
    assert ping["direction"] == "client_to_server"
    assert ping["payload"] == {"$ref": "#/$defs/SystemPing"}
    assert "client_time" in schema["$defs"]["SystemPing"]["properties"]
    assert "ack_data" in ping
