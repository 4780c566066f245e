"""The `json` python-socketio encodes and decodes packets with: orjson, with python-engineio's
default (the standard library's, integers limited to 100 digits) wherever the two differ.

Decoding: orjson refuses NaN, infinities, lone surrogates and numbers too large for a double,
and reads integers beyond 64 bits as floats; the default reads all of these as Python values,
which validation then judges. A packet with a run of 19 or more digits goes to the default
directly, any other that orjson refuses goes there second, so every payload decodes to what
it always did (and one that is not JSON, or has an integer over 100 digits, raises
`ValueError`).

Encoding: what orjson cannot encode (integers beyond 64 bits, keys that are not strings,
lone surrogates) is encoded by the standard library. Non-ASCII text is written as UTF-8
instead of `\\u` escapes, the same JSON; NaN and infinities become `null` instead of the
non-JSON `NaN` no client could parse.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from engineio import json as default_json

# orjson keeps integers exactly only up to 64 bits; the longest such has 20 digits.
_LONG_NUMBER = re.compile(r"\d{19}")


def try_dumps(obj: Any) -> str | None:
    """The JSON of `obj` by orjson, or None if orjson cannot encode it."""
    try:
        return orjson.dumps(obj).decode()
    except TypeError:  # orjson.JSONEncodeError is one
        return None


def dumps(obj: Any, **kwargs: Any) -> str:
    encoded = try_dumps(obj)
    if encoded is None:
        kwargs.setdefault("separators", (",", ":"))
        return json.dumps(obj, **kwargs)
    return encoded


def loads(text: str | bytes, **kwargs: Any) -> Any:
    if _LONG_NUMBER.search(text if isinstance(text, str) else text.decode(errors="replace")):
        return default_json.loads(text, **kwargs)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return default_json.loads(text, **kwargs)


class JsonCodec:
    """The module-like object python-socketio's `json` hook expects."""

    dumps = staticmethod(dumps)
    loads = staticmethod(loads)
