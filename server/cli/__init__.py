"""The `netra-ws` command: serve, smoke, chat, token, config."""
