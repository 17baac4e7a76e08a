"""HttpJlisClient against the documented API (docs/jlis-api.md), HTTP mocked with responses."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import requests
import responses

from idp.errors import ConfigurationError
from idp.jlis import (
    Basic4Consent,
    HttpJlisClient,
    JlisNotFoundError,
    JlisProtocolError,
    JlisRefusedError,
    JlisUnavailableError,
)
from idp.jpki.profile import Sex
from idp.settings import JlisSettings

URL = "http://jlis.test"
KEY = "secret-api-key"


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def client() -> HttpJlisClient:
    return HttpJlisClient(URL + "/", KEY, timeout_seconds=2)


def test_every_call_carries_the_bearer_key(mocked: responses.RequestsMock,
                                           client: HttpJlisClient) -> None:
    mocked.get(f"{URL}/v1/crl/sign-card-2023", body=b"\x30\x00",
               match=[responses.matchers.header_matcher({"Authorization": f"Bearer {KEY}"})])
    assert client.fetch_crl("sign-card-2023") == b"\x30\x00"


def test_cas_are_listed_as_frozen_values(mocked: responses.RequestsMock,
                                         client: HttpJlisClient) -> None:
    mocked.get(f"{URL}/v1/cas", json=[{
        "ca_id": "sign-card-2023", "purpose": "sign", "medium": "card", "label": "2023",
        "certificate": base64.b64encode(b"DER").decode(), "key_id": "0a0b",
        "crl_url": f"{URL}/v1/crl/sign-card-2023", "ocsp_url": f"{URL}/v1/ocsp"}])
    (ca,) = client.list_cas()
    assert (ca.ca_id, ca.purpose, ca.certificate, ca.key_id) == (
        "sign-card-2023", "sign", b"DER", b"\x0a\x0b")


def test_crl_by_key_names_the_ca_by_hex_key_id(mocked: responses.RequestsMock,
                                               client: HttpJlisClient) -> None:
    mocked.get(f"{URL}/v1/crl/by-key/0a0b", body=b"CRL")
    assert client.fetch_crl_by_key(b"\x0a\x0b") == b"CRL"


def test_ocsp_posts_der_with_the_ocsp_content_type(mocked: responses.RequestsMock,
                                                   client: HttpJlisClient) -> None:
    mocked.post(f"{URL}/v1/ocsp", body=b"RESP", match=[responses.matchers.header_matcher(
        {"Content-Type": "application/ocsp-request"})])
    assert client.ocsp(b"REQ") == b"RESP"
    assert mocked.calls[0].request.body == b"REQ"


def test_serial_links(mocked: responses.RequestsMock, client: HttpJlisClient) -> None:
    mocked.get(f"{URL}/v1/links/pair", json={"sign_serial": None, "auth_serial": "2a"},
               match=[responses.matchers.query_param_matcher({"serial": "2a", "purpose": "auth"})])
    mocked.get(f"{URL}/v1/links/previous", json={"serial": "2a", "previous_serials": ["1f"]})
    assert client.pair_link("2a", "auth").sign_serial is None
    assert client.previous_serials("2a", "auth").previous_serials == ("1f",)


def test_missing_consent_to_serial_linking_is_a_refusal_with_the_reason(
        mocked: responses.RequestsMock, client: HttpJlisClient) -> None:
    mocked.get(f"{URL}/v1/links/previous", status=403,
               json={"error": "consent_required", "error_description": "no consent"})
    with pytest.raises(JlisRefusedError, match="consent_required") as raised:
        client.previous_serials("2a", "auth")
    assert raised.value.reason == "consent_required"
    assert KEY not in str(raised.value)


def test_basic4_provision_sends_the_signed_consent_and_decodes_the_4_info(
        mocked: responses.RequestsMock, client: HttpJlisClient) -> None:
    mocked.post(f"{URL}/v1/basic4", json={
        "serial": "1002", "as_of": "2026-06-01T12:00:00+00:00", "basic4": {
            "name": "山田　花子", "name_substitutes": "", "birth_date": "319800217", "sex": "2",
            "address": "東京都千代田区", "address_substitutes": "2"}})
    consent = Basic4Consent(b"CERT", b"tbs\xff", "I agree", b"SIG")
    answer = client.basic4("1001", consent)
    sent = json.loads(mocked.calls[0].request.body or b"")
    assert sent["consent"]["to_be_signed"] == "dGJz_w"  # base64url without padding
    assert sent["consent"]["certificate"] == base64.b64encode(b"CERT").decode()
    assert answer.serial == "1002"
    assert answer.basic4.birth_date == date(1980, 2, 17)
    assert answer.basic4.sex is Sex.FEMALE
    assert answer.basic4.address_substitutes == "2"
    assert answer.as_of == datetime(2026, 6, 1, 12, tzinfo=UTC)


def test_age_check_answers_yes_no_or_unknown(mocked: responses.RequestsMock,
                                             client: HttpJlisClient) -> None:
    mocked.post(f"{URL}/v1/age", json={"over": None, "certificate_status": "invalid"})
    answer = client.age("2a", "auth", 18, date(2026, 6, 1))
    assert (answer.over, answer.certificate_status) == (None, "invalid")
    assert json.loads(mocked.calls[0].request.body or b"")["on"] == "2026-06-01"


def test_metering(mocked: responses.RequestsMock, client: HttpJlisClient) -> None:
    mocked.get(f"{URL}/v1/metering", json={"verifier_id": "v1", "checks": {"sign": 2, "auth": 3},
                                           "yen": 46})
    assert client.metering().yen == 46


@pytest.mark.parametrize(("status", "error"), [
    (401, JlisRefusedError), (403, JlisRefusedError), (404, JlisNotFoundError),
    (400, JlisProtocolError), (500, JlisUnavailableError), (503, JlisUnavailableError)])
def test_http_errors_map_to_typed_errors(mocked: responses.RequestsMock, client: HttpJlisClient,
                                         status: int, error: type[Exception]) -> None:
    mocked.get(f"{URL}/v1/crl/x", status=status, json={"error": "e", "error_description": "d"})
    with pytest.raises(error):
        client.fetch_crl("x")


def test_an_unreachable_j_lis_is_unavailable(mocked: responses.RequestsMock,
                                             client: HttpJlisClient) -> None:
    mocked.get(f"{URL}/v1/cas", body=requests.ConnectTimeout("timed out"))
    with pytest.raises(JlisUnavailableError, match="unreachable") as raised:
        client.list_cas()
    assert raised.value.status == 424


@pytest.mark.parametrize("body", [
    {"not": "a list"}, [{"ca_id": "x"}],
    [{"ca_id": "x", "purpose": "other", "medium": "card", "label": "l", "certificate": "",
      "key_id": "", "crl_url": "", "ocsp_url": ""}]])
def test_a_malformed_answer_is_a_protocol_error(mocked: responses.RequestsMock,
                                                client: HttpJlisClient, body: object) -> None:
    mocked.get(f"{URL}/v1/cas", json=body)
    with pytest.raises(JlisProtocolError):
        client.list_cas()


def test_the_key_is_read_from_the_key_file(tmp_path: Path) -> None:
    (tmp_path / "key").write_text(KEY + "\n")
    HttpJlisClient.from_settings(JlisSettings(api_key_file=tmp_path / "key"))
    with pytest.raises(ConfigurationError, match="no J-LIS API key"):
        HttpJlisClient.from_settings(JlisSettings())
