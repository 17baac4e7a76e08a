"""The real J-LIS CA certificates shipped in trust/jpki_ca/ load as production anchors."""

from __future__ import annotations

from pathlib import Path

from idp.jpki.anchors import load_anchors
from idp.jpki.profile import Medium, Purpose

PRODUCTION = Path(__file__).resolve().parents[3] / "trust" / "jpki_ca"


def test_both_generations_of_each_purpose_load_with_one_dn_and_two_keys() -> None:
    anchors = load_anchors(PRODUCTION)
    for purpose in Purpose:
        generations = anchors.for_purpose(purpose)
        assert [f"{a.certificate.not_valid_before_utc:%Y}" for a in generations] == [
            "2015", "2023"]
        assert generations[0].subject == generations[1].subject
        assert generations[0].key_id != generations[1].key_id
        assert all(a.medium is Medium.CARD for a in generations)
        assert "O=JPKI," in generations[0].subject.rfc4514_string()


def test_the_real_cas_are_self_signed_roots() -> None:
    anchors = load_anchors(PRODUCTION).anchors
    assert len(anchors) == 4  # two generations for each of the two purposes
    for anchor in anchors:
        anchor.certificate.verify_directly_issued_by(anchor.certificate)  # raises if not


def test_a_missing_anchor_directory_trusts_nothing(tmp_path: Path) -> None:
    assert load_anchors(tmp_path / "absent").anchors == ()


def test_anchor_files_may_be_der_or_multi_certificate_pem(tmp_path: Path) -> None:
    from tests.support import jpki_pki as pki

    (tmp_path / "sign").mkdir()
    (tmp_path / "auth").mkdir()
    generations = [pki.ca(Purpose.SIGN, "2019"), pki.ca(Purpose.SIGN, "2023")]
    (tmp_path / "sign" / "both.pem").write_bytes(b"".join(
        g.certificate.public_bytes(pki.serialization.Encoding.PEM) for g in generations))
    (tmp_path / "auth" / "ca.der").write_bytes(pki.der(pki.ca(Purpose.AUTH).certificate))
    (tmp_path / "auth" / "notes.txt").write_text("ignored")
    anchors = load_anchors(tmp_path)
    assert len(anchors.for_purpose(Purpose.SIGN)) == 2
    assert len(anchors.for_purpose(Purpose.AUTH)) == 1


def test_a_broken_anchor_file_is_a_configuration_error_naming_the_file(tmp_path: Path) -> None:
    import pytest

    from idp.errors import ConfigurationError

    (tmp_path / "sign").mkdir()
    (tmp_path / "sign" / "broken.pem").write_text("-----BEGIN CERTIFICATE-----\nxx\n")
    with pytest.raises(ConfigurationError, match=r"broken\.pem"):
        load_anchors(tmp_path)
