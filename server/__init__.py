"""netra-ws: the aiohttp application, auth, emitter, stores and agent runner."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("netra-ws")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+local"
