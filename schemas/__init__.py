"""Pydantic models for every payload on the wire, both directions."""
