"""Prometheus metrics, one registry per app (so several apps in one process stay apart)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Seconds: most emits take well under a millisecond; Redis round trips a few.
_EMIT_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)
_RUN_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class _Children:
    """A labelled counter's children, resolved once per label values: `labels(...)` costs a
    lock and a lookup per call, too much for every event."""

    def __init__(self, counter: Counter) -> None:
        self._counter = counter
        self._children: dict[tuple[str, ...], Any] = {}

    def inc(self, *labels: str, amount: int = 1) -> None:
        child = self._children.get(labels)
        if child is None:
            child = self._children[labels] = self._counter.labels(*labels)
        child.inc(amount)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.connections = Gauge("netra_connections", "Open connections", ["namespace"], registry=r)
        self.connects_refused = Counter(
            "netra_connects_refused", "Refused connects", ["namespace", "code"], registry=r
        )
        self.events_in = Counter(
            "netra_events_in", "Client events received", ["namespace", "event"], registry=r
        )
        self.acks = Counter("netra_acks", "Acks sent, by code", ["namespace", "code"], registry=r)
        self.packets_out = Counter(
            "netra_packets_out",
            "Socket.IO packets sent (events to each connection, acks, connect replies)",
            registry=r,
        )
        self.events_out = Counter(
            "netra_events_out", "Events emitted (a broadcast counts once)", ["event"], registry=r
        )
        self.emit_seconds = Histogram(
            "netra_emit_seconds",
            "Time to number, keep and send a user-stream event",
            buckets=_EMIT_BUCKETS,
            registry=r,
        )
        self.replayed_events = Counter(
            "netra_replayed_events", "Events replayed to resuming connections", registry=r
        )
        self.resumes = Counter(
            "netra_resumes", "Connects to /chat, by recovery", ["recovery"], registry=r
        )
        self.runs = Counter("netra_runs", "Agent runs ended, by outcome", ["outcome"], registry=r)
        self.agent_tokens = Counter(
            "netra_agent_tokens",
            "Tokens the agent's model reported using, by kind (input, output)",
            ["kind"],
            registry=r,
        )
        self.approvals = Counter(
            "netra_approvals", "Tool-call approvals resolved, by decision", ["decision"], registry=r
        )
        self.run_seconds = Histogram(
            "netra_run_seconds", "Agent run duration", ["outcome"], buckets=_RUN_BUCKETS, registry=r
        )
        self.rate_limited = Counter(
            "netra_rate_limited",
            "Client events refused by the rate limit",
            ["namespace"],
            registry=r,
        )
        self.bad_frames = Counter(
            "netra_bad_frames",
            "Frames the protocol does not have, dropped or answered with an error",
            ["kind"],
            registry=r,
        )
        self.polling_posts_in_flight = Gauge(
            "netra_polling_posts_in_flight", "Long-polling POSTs being served", registry=r
        )
        self._events_in = _Children(self.events_in)
        self._bad_frames = _Children(self.bad_frames)
        self._acks = _Children(self.acks)
        self._events_out = _Children(self.events_out)

    def count_event(self, namespace: str, event: str, ack_code: str) -> None:
        """One client event in and its ack out; `event` and `ack_code` are from bounded sets."""
        self._events_in.inc(namespace, event)
        self._acks.inc(namespace, ack_code)

    def count_bad_frame(self, kind: str) -> None:
        self._bad_frames.inc(kind)

    def count_out(self, event: str, events: int = 1) -> None:
        """Server events emitted; `event` is a registered event name."""
        self._events_out.inc(event, amount=events)
