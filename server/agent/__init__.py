"""Offline demo chat model and the tools it can call."""
