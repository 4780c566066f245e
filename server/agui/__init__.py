"""AG-UI over HTTP: our runs as AG-UI event streams (docs/interop.md)."""
