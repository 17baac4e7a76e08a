"""A real reader and My Number Card (opt-in: ``pytest -m hardware --hardware``, see docs/card.md).

Environment: JPKI_READER (reader name or unique prefix), JPKI_AUTH_PIN, optionally JPKI_SIGN_PIN.
Each test spends at most one VERIFY with the PIN given and refuses to run below 2 tries left.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.card_requests import card_request, serving

pytestmark = pytest.mark.hardware
IDP = str(Path(sys.executable).with_name("idp"))


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"set {name} to run the hardware tests (docs/card.md)")
    return value


def _idp(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IDP, *args], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, check=False)


def _info(reader: str) -> dict[str, object]:
    result = _idp("card", "info", "--reader", reader, "--json")
    assert result.returncode == 0, result.stderr
    info: dict[str, object] = json.loads(result.stdout)
    return info


def test_a_real_card_shows_its_token_certificates_and_counters() -> None:
    info = _info(_env("JPKI_READER"))
    assert info["token"] in ("JPKIAPICCTOKEN2", "JPKIAPGPSETOKEN")
    certificates = info["certificates"]
    assert isinstance(certificates, dict)
    assert base64.b64decode(str(certificates["auth_ca"]))[:1] == b"\x30"


@pytest.mark.parametrize(("purpose", "certificate", "pin_variable"), [
    ("login", "auth", "JPKI_AUTH_PIN"), ("onboard", "sign", "JPKI_SIGN_PIN")])
def test_a_real_card_answers_a_card_request(purpose: str, certificate: str,
                                            pin_variable: str) -> None:
    reader = _env("JPKI_READER")
    if pin_variable == "JPKI_SIGN_PIN" and not os.environ.get(pin_variable):
        pytest.skip("JPKI_SIGN_PIN not set: the signing key is not exercised")
    tries = _info(reader)["pin_tries_left"]
    assert isinstance(tries, dict)
    if tries[certificate] < 2:
        pytest.fail(f"only {tries[certificate]} {certificate} PIN tries left: not risking it")
    with serving(card_request(purpose, certificate)) as idp:
        result = _idp("card", "sign", idp.url, "--reader", reader, "--pin", _env(pin_variable),
                      "--yes")
    assert result.returncode == 0, result.stderr
    assert len(idp.answers) == 1
