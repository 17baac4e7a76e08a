"""`idp demo` runs the bank as a confidential client with PAR + private_key_jwt, with its
records and the J-LIS signing CAs under the instance, and its Shared Signals stream pushed to
it over loopback http (the demo allows exactly that)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from tests.integration.test_sim_demo import _start


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_demo_bank_logs_in_with_par_and_receives_its_event_stream(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    demo, summary, _ = _start(var_dir, tmp_path / "demo.log")
    try:
        bank = summary["rps"]["bank"]
        to_idp = requests.get(f"{bank}/login", allow_redirects=False,
                              timeout=10).headers["Location"]
        assert to_idp.startswith(f"{summary['idp']}/authorize?client_id=")
        assert "request_uri=urn" in to_idp  # pushed with its private_key_jwt
        deadline, page = time.monotonic() + 60, ""
        while time.monotonic() < deadline and 'data-event="verification"' not in page:
            page = requests.get(f"{bank}/back-office", timeout=10).text
            time.sleep(0.5)
        assert 'data-connected="true"' in page
        assert 'data-event="verification"' in page  # pushed, verified by the IdP's JWKS
        assert (var_dir / "rp_bank" / "bank.sqlite3").is_file()
        assert list((var_dir / "trust" / "sign").glob("*.pem"))
    finally:
        demo.terminate()
        assert demo.wait(timeout=30) == 0
        if demo.stdout is not None:
            demo.stdout.close()
