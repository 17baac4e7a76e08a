"""verified_claims: the request's shape, and the filtering and omission rules of OpenID Connect
for Identity Assurance 1.0 §5.7, table-driven over ``respond``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from idp.accounts.claims import Verification, basic4_claims
from idp.oidc import verified_claims as vc
from idp.oidc.claims import consentable, parse_claims_parameter
from idp.oidc.errors import InvalidRequestError

ISSUER = "https://idp.example.jp"
CA = "C=JP, O=JPKI, OU=JPKI for digital signature"
NOW = int(datetime(2026, 6, 1, 3, 0, tzinfo=UTC).timestamp())
CHECKED = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # an hour before NOW
ANCHORED = datetime(2026, 1, 10, 9, 30, tzinfo=UTC)
FACTS = Verification(basic4_claims({"name": "山田\u3000太郎", "birth_date": "2006-06-02",
                                    "sex": "1", "address": "東京都千代田区永田町1-7-1"}),
                     CA, "0a1b2c", ANCHORED, CHECKED)
ALL = frozenset(vc.PREFIX + c for c in vc.CLAIMS)
TF: dict[str, Any] = {"trust_framework": None}


def _ask(verification: dict[str, Any], claims: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"verification": verification, "claims": {"name": None} if claims is None else claims}


def _respond(spec: Any, allowed: frozenset[str] = ALL, facts: Verification | None = FACTS,
             auth_time: int = NOW) -> Any:
    return vc.respond(spec, facts, allowed=allowed, issuer=ISSUER, auth_time=auth_time,
                      now=NOW)


EVIDENCE_ALL = {"type": {"value": "electronic_signature"}, "signature_type": None,
                "issuer": None, "serial_number": None, "created_at": None}

# (why, request element, expected verification, expected claims or None when left out)
CASES: list[tuple[str, dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]] = [
    ("minimal", _ask(TF), {"trust_framework": "jp_aml"}, {"name": "山田\u3000太郎"}),
    ("trust framework by value", _ask({"trust_framework": {"value": "jp_aml"}}),
     {"trust_framework": "jp_aml"}, {"name": "山田\u3000太郎"}),
    ("trust framework by values", _ask({"trust_framework": {"values": ["eidas", "jp_aml"]}}),
     {"trust_framework": "jp_aml"}, {"name": "山田\u3000太郎"}),
    ("another trust framework: element left out", _ask({"trust_framework": {"value": "eidas"}}),
     None, None),
    ("time requested", _ask({**TF, "time": None}),
     {"trust_framework": "jp_aml", "time": "2026-06-01T02:00:00Z"}, {"name": "山田\u3000太郎"}),
    ("time within max_age", _ask({**TF, "time": {"max_age": 3600}}),
     {"trust_framework": "jp_aml", "time": "2026-06-01T02:00:00Z"}, {"name": "山田\u3000太郎"}),
    ("time older than max_age: element left out", _ask({**TF, "time": {"max_age": 3599}}),
     None, None),
    ("evidence, every member", _ask({**TF, "evidence": [EVIDENCE_ALL]}),
     {"trust_framework": "jp_aml", "evidence": [{
         "type": "electronic_signature", "signature_type": vc.signature_type(ISSUER),
         "issuer": CA, "serial_number": "0a1b2c", "created_at": "2026-01-10T09:30:00Z"}]},
     {"name": "山田\u3000太郎"}),
    ("evidence without created_at requested", _ask({**TF, "evidence": [{"type": None}]}),
     {"trust_framework": "jp_aml", "evidence": [{
         "type": "electronic_signature", "signature_type": vc.signature_type(ISSUER),
         "issuer": CA, "serial_number": "0a1b2c"}]}, {"name": "山田\u3000太郎"}),
    ("evidence of a type we do not have: element left out",
     _ask({**TF, "evidence": [{"type": {"value": "document"}}]}), None, None),
    ("evidence entries are ORed",
     _ask({**TF, "evidence": [{"type": {"value": "document"}},
                              {"type": {"value": "electronic_signature"}}]}),
     {"trust_framework": "jp_aml", "evidence": [{
         "type": "electronic_signature", "signature_type": vc.signature_type(ISSUER),
         "issuer": CA, "serial_number": "0a1b2c"}]}, {"name": "山田\u3000太郎"}),
    ("evidence/type with values (value only): cannot be met",
     _ask({**TF, "evidence": [{"type": {"values": ["electronic_signature"]}}]}), None, None),
    ("created_at older than max_age: element left out",
     _ask({**TF, "evidence": [{"type": None, "created_at": {"max_age": 86400}}]}), None, None),
    ("another serial: element left out",
     _ask({**TF, "evidence": [{"type": None, "serial_number": {"value": "FF"}}]}), None, None),
    ("a claim with another value is left out alone",
     _ask(TF, {"name": None, "gender": {"value": "female"}}),
     {"trust_framework": "jp_aml"}, {"name": "山田\u3000太郎"}),
    ("claims matching values", _ask(TF, {"gender": {"values": ["male", "female"]}}),
     {"trust_framework": "jp_aml"}, {"gender": "male"}),
    ("unsupported claims are left out", _ask(TF, {"name": None, "nationalities": None}),
     {"trust_framework": "jp_aml"}, {"name": "山田\u3000太郎"}),
    ("essential changes nothing", _ask(TF, {"name": None, "nationalities": {"essential": True}}),
     {"trust_framework": "jp_aml"}, {"name": "山田\u3000太郎"}),
    ("max_age on a claim cannot be met: claim left out",
     _ask(TF, {"name": None, "birthdate": {"max_age": 10}}),
     {"trust_framework": "jp_aml"}, {"name": "山田\u3000太郎"}),
    ("no claim left: element left out", _ask(TF, {"nationalities": None}), None, None),
    ("the 4 info", _ask(TF, {"name": None, "birthdate": None, "gender": None, "address": None}),
     {"trust_framework": "jp_aml"},
     {"name": "山田\u3000太郎", "birthdate": "2006-06-02", "gender": "male",
      "address": {"formatted": "東京都千代田区永田町1-7-1", "country": "JP"}}),
    ("age without the birth date (19 on 2026-06-01)",
     _ask(TF, {"age_over_18": None, "age_over_20": None}),
     {"trust_framework": "jp_aml"}, {"age_over_18": True, "age_over_20": False}),
    ("unknown verification members are not answered", _ask({**TF, "assurance_level": None}),
     {"trust_framework": "jp_aml"}, {"name": "山田\u3000太郎"}),
]


@pytest.mark.parametrize(("why", "element", "verification", "claims"), CASES,
                         ids=[c[0] for c in CASES])
def test_one_element(why: str, element: dict[str, Any], verification: dict[str, Any] | None,
                     claims: dict[str, Any] | None) -> None:
    vc.check_request("claims.userinfo.verified_claims", element)
    expected = None if claims is None else {"verification": verification, "claims": claims}
    assert _respond(element) == expected, why


def test_an_array_is_answered_element_by_element() -> None:
    spec = [_ask({"trust_framework": {"value": "eidas"}}), _ask(TF, {"gender": None})]
    assert _respond(spec) == [{"verification": {"trust_framework": "jp_aml"},
                               "claims": {"gender": "male"}}]
    assert _respond([_ask({"trust_framework": {"value": "eidas"}})]) is None


def test_only_consented_claims_and_nothing_without_a_current_anchor() -> None:
    spec = _ask(TF, {"name": None, "birthdate": None})
    only_birthdate = frozenset({"verified_claims.birthdate", "name"})  # top-level name: not it
    assert _respond(spec, allowed=only_birthdate)["claims"] == {"birthdate": "2006-06-02"}
    assert _respond(spec, allowed=frozenset({"name", "birthdate"})) is None
    assert _respond(spec, facts=None) is None


def test_time_left_out_when_the_anchor_was_never_checked() -> None:
    facts = Verification(FACTS.claims, CA, "0a1b2c", ANCHORED, None)
    assert vc.respond(_ask({**TF, "time": None}), facts, allowed=ALL, issuer=ISSUER,
                      auth_time=NOW, now=NOW) is None


MALFORMED: list[tuple[str, Any]] = [
    ("null", None), ("a string", "yes"), ("an empty array", []),
    ("too many elements", [_ask(TF)] * (vc.MAX_ELEMENTS + 1)),
    ("an array of strings", ["x"]),
    ("no verification", {"claims": {"name": None}}),
    ("verification not an object", {"verification": "jp_aml", "claims": {"name": None}}),
    ("no claims", {"verification": {}}),
    ("empty claims", _ask(TF, {})),
    ("claims an array", {"verification": {}, "claims": ["name"]}),
    ("a claim a string", _ask(TF, {"name": "please"})),
    ("essential not a boolean", _ask(TF, {"name": {"essential": "yes"}})),
    ("values not an array", _ask(TF, {"gender": {"values": "male"}})),
    ("too many values", _ask(TF, {"gender": {"values": ["male"] * (vc.MAX_VALUES + 1)}})),
    ("trust_framework a string", _ask({"trust_framework": "jp_aml"})),
    ("max_age a string", _ask({"time": {"max_age": "3600"}})),
    ("max_age negative", _ask({"time": {"max_age": -1}})),
    ("max_age a boolean", _ask({"time": {"max_age": True}})),
    ("evidence an object", _ask({"evidence": {"type": None}})),
    ("evidence empty", _ask({"evidence": []})),
    ("evidence of strings", _ask({"evidence": ["electronic_signature"]})),
    ("evidence type a string", _ask({"evidence": [{"type": "electronic_signature"}]})),
]


@pytest.mark.parametrize(("why", "spec"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_requests_are_invalid_request(why: str, spec: Any) -> None:
    with pytest.raises(InvalidRequestError):
        parse_claims_parameter({"userinfo": {"verified_claims": spec}})


def test_consent_is_asked_per_verified_claim_and_apart_from_the_plain_ones() -> None:
    request = parse_claims_parameter({
        "id_token": {"verified_claims": _ask(TF, {"name": None, "nationalities": None})},
        "userinfo": {"verified_claims": [_ask(TF, {"age_over_20": None})], "name": None}})
    assert consentable(["openid", "age"], request) == {
        "verified_claims.name", "verified_claims.age_over_20", "name",
        "age_over_18", "age_over_20", "age_over_65"}


def test_every_claim_a_consent_page_can_list_has_a_label_in_both_languages() -> None:
    """The consent page names what is shared in words, never a catalogue key (ja and en)."""
    from idp import i18n
    from idp.oidc.claims import SCOPE_CLAIMS

    names = {claim for claims in SCOPE_CLAIMS.values() for claim in claims}
    names |= {f"verified_claims.{claim}" for claim in
              ("name", "family_name", "given_name", "birthdate", "gender", "address",
               "age_over_18", "age_over_20", "age_over_65")}
    for language in ("ja", "en"):
        missing = sorted(n for n in names if f"claim.{n}" not in i18n.catalogue(language))
        assert not missing, (language, missing)
