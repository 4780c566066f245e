"""HTTP routes: health, discovery, schema, dev-login and the web client."""
