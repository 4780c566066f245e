"""Runnable examples of extending netra-ws; each is exercised by the tests."""
