"""The HTTP and /system contract as a Node socket.io-client written against it sees it."""

from __future__ import annotations

from tests.contract.node import run_node_script
from tests.harness import LiveServer


async def test_node_client_follows_discovery_and_speaks_system(server: LiveServer) -> None:
    seen = await run_node_script("system_contract.mjs", server.url)

    assert seen["config"]["namespaces"] == {"agui": "/agui", "chat": "/chat", "system": "/system"}
    assert seen["hello"]["principal"] == {
        "id": "node-user",
        "display_name": "Node User",
        "kind": "dev",
    }
    assert seen["ping"]["ok"] is True
    assert seen["ping"]["data"]["client_time"] == 42
    assert seen["doubleEncoded"]["error"]["code"] == "double_encoded_json"
    assert seen["unknown"]["error"]["code"] == "unknown_event"
    assert seen["invalid"]["error"]["code"] == "invalid_payload"
    assert seen["errorEvent"] == {
        "code": "double_encoded_json",
        "message": "Payload is a string holding JSON; send the object itself",
        "event": "system:ping",
    }
    assert seen["stillConnected"] is True
    assert seen["noToken"]["data"]["code"] == "auth_required"
    assert seen["noToken"]["message"] == "Authentication required"
    assert seen["badToken"]["data"]["code"] == "token_invalid"
