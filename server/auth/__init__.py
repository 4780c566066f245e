"""Token verification, dev-login tokens and the connect-time authentication step."""
