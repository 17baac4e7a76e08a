"""`idp card` through the real PC/SC stack: pcscd + vpcd + `idp vcard attach` + pyscard."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.serialization import Encoding

from tests.support import pcsc
from tests.support.card_requests import card_request, serving
from tests.support.cards import AUTH_PIN, SIGN_PIN, make_card
from trust import cardfile

pytestmark = [pytest.mark.pcsc, pytest.mark.slow]
DER = Encoding.DER


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pcsc.PcscStack]:
    reason = pcsc.missing()
    if reason:
        pytest.fail(reason)  # a `pcsc` test must run where `make test` installed the stack
    with pcsc.private_pcscd(tmp_path_factory.mktemp("pcscd")) as running:
        yield running


def _idp(stack: pcsc.PcscStack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([pcsc.IDP, *args], env=stack.env(), capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL, check=False)


def test_card_info_reads_token_certificates_and_pin_counters(
        stack: pcsc.PcscStack, tmp_path: Path) -> None:
    card = make_card(tmp_path / "card.json")
    with stack.attached(card.path):
        result = _idp(stack, "card", "info", "--reader", stack.reader, "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["token"] == "JPKIAPICCTOKEN2"
    assert base64.b64decode(info["certificates"]["auth"]) == card.auth_certificate.public_bytes(DER)
    assert info["certificates"]["sign"] is None  # behind the signing PIN
    assert info["certificates"]["sign_ca"]
    assert info["certificates"]["auth_ca"]
    assert info["pin_tries_left"] == {"sign": 5, "auth": 3}


def test_card_sign_answers_a_request_with_the_signing_certificate(
        stack: pcsc.PcscStack, tmp_path: Path) -> None:
    card = make_card(tmp_path / "card.json")
    with serving(card_request("onboard", "sign")) as idp, stack.attached(card.path):
        result = _idp(stack, "card", "sign", idp.url, "--reader", stack.reader,
                      "--pin", SIGN_PIN, "--yes")
        assert result.returncode == 0, result.stderr
        assert "accepted" in result.stdout
        assert "Test Bank" in result.stderr
        assert "onboard" in result.stderr
        sent = base64.b64decode(idp.answers[0]["certificate"])
        assert card.sign_certificate is not None
        assert sent == card.sign_certificate.public_bytes(DER)
        again = requests.post(idp.url, json=idp.answers[0], timeout=5)
        assert again.status_code == 409  # a request is answered once


def test_wrong_pins_count_down_and_the_last_try_needs_force(
        stack: pcsc.PcscStack, tmp_path: Path) -> None:
    card = make_card(tmp_path / "card.json")
    with serving(card_request("login", "auth")) as idp, stack.attached(card.path):
        sign = ("card", "sign", idp.url, "--reader", stack.reader, "--pin", "9999", "--yes")
        first, second = _idp(stack, *sign), _idp(stack, *sign)
        assert "2 tries left" in first.stderr
        assert "1 try left" in second.stderr
        guarded = _idp(stack, *sign)
        assert guarded.returncode == 1
        assert "--force" in guarded.stderr
        blocked = _idp(stack, *sign, "--force")
        assert blocked.returncode == 1
        assert "blocked" in blocked.stderr
        after = _idp(stack, "card", "sign", idp.url, "--reader", stack.reader, "--pin", AUTH_PIN,
                     "--yes", "--force")
        assert after.returncode == 1
        assert "blocked" in after.stderr
        assert not idp.answers
    slot = cardfile.load(card.path).auth
    assert slot is not None
    assert slot.tries_left == 0  # the counter lives in the card file, like a chip's EEPROM


def test_removing_the_card_mid_operation_is_a_clear_error(
        stack: pcsc.PcscStack, tmp_path: Path) -> None:
    card = make_card(tmp_path / "card.json")
    with serving(card_request("login", "auth")) as idp, stack.attached(card.path) as attach:
        client = subprocess.Popen(
            [pcsc.IDP, "card", "sign", idp.url, "--reader", stack.reader, "--yes"],
            env=stack.env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, start_new_session=True)
        assert client.stderr is not None
        assert client.stdin is not None
        seen = ""
        while "tries left" not in seen:  # connected, counter read: now waiting for the PIN
            line = client.stderr.readline()
            assert line, seen
            seen += line
        pcsc.stop(attach)  # pull the card off the reader
        time.sleep(1)
        out, err = client.communicate(AUTH_PIN + "\n", timeout=60)
    assert client.returncode == 1, out + err
    assert "removed" in err
    assert "Traceback" not in err
    assert not idp.answers
