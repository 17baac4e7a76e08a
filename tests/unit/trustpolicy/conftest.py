"""A trust policy service over a throwaway instance whose anchor directory holds the test PKI's
CAs (sign and auth, 2023), with the shipped J-LIS CAs beside them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy.orm import Session, sessionmaker

from idp.jpki.profile import Purpose
from idp.settings import Settings
from idp.trustpolicy.service import TrustPolicyService
from tests.support import jpki_pki as pki


def pem(purpose: Purpose, label: str = "2023") -> bytes:
    return pki.ca(purpose, label).certificate.public_bytes(serialization.Encoding.PEM)


def write_anchor_dir(var_dir: Path) -> None:
    for purpose in Purpose:
        folder = var_dir / "trust" / purpose.value
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "ca.pem").write_bytes(pem(purpose))


@pytest.fixture
def instance(tmp_path: Path, database_url: str) -> Settings:
    write_anchor_dir(tmp_path / "var")
    return Settings(var_dir=tmp_path / "var", database_url=database_url,
                    jlis={"api_key": "unused"},
                    trust={"sign": {"method": "ocsp"},
                           "auth": {"method": "crl", "max_crl_staleness_seconds": 60}})


@pytest.fixture
def service(instance: Settings, sessions: sessionmaker[Session]) -> Iterator[TrustPolicyService]:
    return TrustPolicyService(sessions, instance)
