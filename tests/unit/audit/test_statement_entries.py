"""Entries a statement appends itself (``idp.audit.append``, PostgreSQL): the JSON PostgreSQL
writes in a slot's place is byte for byte what Python's canonical encoding writes, for any text
PostgreSQL can hold (every code point but NUL and the surrogates), so a statement-built entry
hashes and verifies as an entry written from Python."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, Text, create_engine, literal, select

from idp.audit.append import filled, json_string_inside, json_text, slot, template_params
from idp.audit.entries import canonical
from tests.support.postgres import Cluster

pytestmark = pytest.mark.postgres

# What PostgreSQL's text holds: no NUL, no lone surrogates.
TEXTS = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                max_size=40)
AWKWARD = ['"', "\\", "\b\f\n\r\t", "\x01\x1f\x7f", "é日本語", "\u2028\u2029", "😀", "</script>",
           "a\"b\\c", "", "null", slot("other")]


@pytest.fixture(scope="module")
def engine(pg_cluster: Cluster) -> Iterator[Engine]:
    made = create_engine(pg_cluster.create_database())
    yield made
    made.dispose()


def _filled(engine: Engine, template: str, whole: str | None, within: str) -> tuple[str, str]:
    """``template`` filled by PostgreSQL: slot "value" by ``whole``'s JSON, slot "inside" (in a
    string) by ``within``'s, and the target column's slot by ``within`` itself."""
    value, inside = literal(whole, Text), literal(within, Text)
    query = select(filled(literal(template, Text), {"value": json_text(value)},
                          {"inside": json_string_inside(inside)}),
                   filled(literal(f"person:{slot('inside')}", Text), {}, {"inside": inside}))
    with engine.connect() as connection:
        row = connection.execute(query).one()
    return row[0], row[1]


def _expected(whole: str | None, within: str) -> str:
    return canonical({"a": whole, "b": [1, {"c": f"x{within}y"}], "z": "tail"}).decode()


def _template() -> str:
    return canonical({"a": slot("value"), "b": [1, {"c": f"x{slot('inside')}y"}],
                      "z": "tail"}).decode()


@pytest.mark.parametrize("text", AWKWARD)
def test_awkward_strings_are_written_as_python_writes_them(engine: Engine, text: str) -> None:
    assert _filled(engine, _template(), text, text) == (_expected(text, text), f"person:{text}")


def test_a_null_value_is_written_null(engine: Engine) -> None:
    assert _filled(engine, _template(), None, "")[0] == _expected(None, "")


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(whole=TEXTS, within=TEXTS)
def test_any_text_is_written_as_python_writes_it(engine: Engine, whole: str,
                                                 within: str) -> None:
    assert _filled(engine, _template(), whole, within) == (_expected(whole, within),
                                                           f"person:{within}")


def test_a_template_of_a_body_keeps_its_slots_and_the_body_around_them() -> None:
    body = {"time": slot("time"), "actor": "rp:c", "action": "token.issued",
            "target": f"person:{slot('person')}", "outcome": "ok",
            "request_id": slot("request_id"), "details": {"acr": slot("acr"), "scope": "openid"}}
    params = template_params({"issued": body})
    assert params["a_actor"] == "rp:c"
    assert params["t_issued_details"] == canonical(body["details"]).decode()
    assert (params["t_issued_action"], params["t_issued_target"],
            params["t_issued_outcome"]) == ("token.issued", body["target"], "ok")
    whole = params["t_issued_p1"] + "PREV" + params["t_issued_p2"] + "7" + params["t_issued_p3"]
    assert whole == canonical({**body, "prev_hash": "PREV", "seq": 7}).decode()
    with pytest.raises(ValueError, match="the run's slots"):
        template_params({"issued": {**body, "time": "2026-12-03T12:00:00.000000Z"}})
