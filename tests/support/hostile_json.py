"""Hypothesis strategies for hostile JSON: values of every JSON type where one type is expected,
nesting, huge numbers and strings, NaN and Infinity (Python's parser takes them), lone
surrogates, NUL and other control characters, and texts nested deeper than any parser recurses.

``documents`` are JSON texts (what a request carries); ``values`` are Python values for a test to
place inside an otherwise well-formed structure before encoding it.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from idp.settings import DeviceRequestRule, Settings, ThrottleRule, ThrottleSettings, UserCodeRule

# Modest example counts keep the suite fast; the app and its database are shared by a test's
# examples (function-scoped fixtures), which is what these tests want: state carries over.
PROPERTY = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
HUGE = 100_000  # characters: far more than any field of the IdP needs

_strings = st.one_of(
    st.text(max_size=20),
    st.text(st.characters(codec=None, min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1,
            max_size=3),  # lone surrogates: valid JSON escapes, no UTF-8 encoding
    st.sampled_from(["", "\x00", "a\x00b", "\u202e", "𝔘𝔫𝔦", "名前", "%00", "null"]),
    st.builds(lambda: "x" * HUGE),
)
_numbers = st.one_of(
    st.integers(),
    st.sampled_from([2**63, -(2**63) - 1, 10**400, 0, -1, 2**31]),
    st.floats(allow_nan=True, allow_infinity=True),
)
scalars = st.one_of(st.none(), st.booleans(), _numbers, _strings)
values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_strings, inner, max_size=4),
    max_leaves=12,
)


def _deep(depth: int, kind: str) -> str:
    if kind == "array":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "null" + "}" * depth


deep_documents = st.builds(_deep, st.integers(min_value=30, max_value=50_000),
                           st.sampled_from(["array", "object"]))


def dumps(value: Any) -> str:
    """``value`` as JSON text; NaN and Infinity as Python writes them (not standard JSON)."""
    return json.dumps(value)


documents = st.one_of(values.map(dumps), deep_documents,
                      st.sampled_from(["", "{", '{"a": tr', "\x00", "[1,]", "{'a': 1}"]))


def nested_in(document: str, *path: str) -> str:
    """``document`` placed at ``path`` inside objects, as text (it may be too deep to load)."""
    for name in reversed(path):
        document = f"{{{json.dumps(name)}: {document}}}"
    return document


def unthrottled(base: Settings) -> Settings:
    """``base`` without failure throttling: every generated example reaches the parsers instead
    of a 429 once a few have been refused."""
    unlimited = ThrottleRule(limit=1_000_000, window_seconds=1)
    return base.model_copy(update={"throttle": ThrottleSettings(
        client_auth=unlimited, passkey=unlimited, card_answer=unlimited,
        device_user_code=UserCodeRule(limit=1_000_000, window_seconds=1),
        device_authorization=DeviceRequestRule(limit=1_000_000, window_seconds=1))})


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path to every node of ``value`` (a well-formed document), the root first."""
    found = [path]
    children = value.items() if isinstance(value, dict) else \
        enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        found += _paths(child, (*path, key))
    return found


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replaced(value[path[0]], path[1:], new)
    return copy


def _removed(value: Any, path: tuple[Any, ...]) -> Any:
    if len(path) == 1:
        copy = dict(value) if isinstance(value, dict) else list(value)
        del copy[path[0]]
        return copy
    return _replaced(value, path[:1], _removed(value[path[0]], path[1:]))


def mutated(valid: Any) -> st.SearchStrategy[Any]:
    """``valid`` with one node replaced by a hostile value, or removed: answers that get as far
    as the parser's checks go, and fail there (or not) one field at a time."""
    paths = _paths(valid)
    replace = st.builds(lambda path, new: _replaced(valid, path, new),
                        st.sampled_from(paths), values)
    remove = st.builds(lambda path: _removed(valid, path), st.sampled_from(paths[1:])) \
        if len(paths) > 1 else st.nothing()
    return st.one_of(replace, remove)
