"""Socket.IO namespaces: receive, validate and route client events."""
