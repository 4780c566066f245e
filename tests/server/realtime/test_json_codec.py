"""The packet codec decodes every payload to what python-engineio's json would, and encodes
to the same JSON (orjson where it can)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from engineio import json as default_json

from server.realtime.json_codec import dumps, loads

SAME_AS_DEFAULT = [
    '{"client_time": 1.5}',
    '["chat:send",{"text":"h\\u00e9 \\u2603","n":-0}]',
    str(2**63),
    str(2**64),
    str(-(2**63) - 1),
    "1" * 40,
    "123456789012345678901234567890.5",
    "1e400",
    "-1e400",
    "NaN",
    "[Infinity, -Infinity]",
    '"\\ud800"',
    "[" * 50 + "]" * 50,
]


@pytest.mark.parametrize("text", SAME_AS_DEFAULT)
def test_decodes_like_the_default(text: str) -> None:
    got, want = loads(text), default_json.loads(text)
    assert repr(got) == repr(want)
    assert type(got) is type(want)


@pytest.mark.parametrize("text", ["[1,]", '{"a": 1', "1" * 101, "", "[1]x"])
def test_refuses_what_the_default_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        default_json.loads(text)
    with pytest.raises(ValueError):
        loads(text)


@pytest.mark.parametrize(
    "value",
    [
        {"ok": True, "data": {"text": "héllo ☃ 😀", "n": 1.5, "list": [1, None, "x"]}},
        {"big": 2**70, "neg": -(2**64)},
        {1: "non-string key"},
        {"lone": "\ud800"},
        ["a", ("tuple", 2)],
    ],
)
def test_encodes_the_same_json(value: Any) -> None:
    assert json.loads(dumps(value)) == json.loads(json.dumps(value))


def test_non_finite_floats_become_null() -> None:
    assert json.loads(dumps({"x": math.nan, "y": math.inf})) == {"x": None, "y": None}
