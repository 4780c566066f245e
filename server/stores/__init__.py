"""Persistence for chat threads, messages and agent runs."""
