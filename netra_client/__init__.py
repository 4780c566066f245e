"""A typed Python client for netra-ws.

from netra_client import NetraClient, dev_login

login = await dev_login("http://127.0.0.1:8080", user_id="alice")
async with NetraClient("http://127.0.0.1:8080", login.token) as client:
    client.on(AgentDelta, lambda item: print(item.seq, item.event.text))
    transcript = await client.run_prompt("count to 5")
    reminder = await client.run_prompt("remind me to water the plants", approve=lambda _: True)
    print(reminder.parts, reminder.usage)
"""

from __future__ import annotations

from netra_client.client import ApprovalPolicy, NetraClient
from netra_client.connection import ResetHandler, TokenProvider
from netra_client.errors import NetraError
from netra_client.events import Unsubscribe
from netra_client.http import dev_login, discover
from netra_client.parts import PartsFold, fold_parts
from netra_client.stream import Sequenced, StreamCursor
from netra_client.transcript import Outcome, RunTranscript

__all__ = [
    "ApprovalPolicy",
    "NetraClient",
    "NetraError",
    "Outcome",
    "PartsFold",
    "ResetHandler",
    "RunTranscript",
    "Sequenced",
    "StreamCursor",
    "TokenProvider",
    "Unsubscribe",
    "dev_login",
    "discover",
    "fold_parts",
]
