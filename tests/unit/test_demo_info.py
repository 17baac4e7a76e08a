"""The demo description ``idp demo`` writes, read with care: absent is no demo, malformed is
logged and read as no demo, and what it names becomes links only when it is http(s)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from idp.demo_info import DemoFile, parse, read


def demo_json(**overrides: Any) -> dict[str, Any]:
    """A demo description as `idp demo` writes it."""
    return {
        "idp": "http://localhost:8000", "jlis": "http://127.0.0.1:8001",
        "rps": [{"name": "bank", "url": "http://localhost:8002",
                 "title": {"ja": "テスト銀行", "en": "Test Bank"},
                 "shows": {"ja": "口座開設は確認済みの本人情報で", "en": "Account opening"}},
                {"name": "shop", "url": "http://localhost:8003",
                 "title": {"ja": "テストショップ"}, "shows": {"en": "A passkey is enough"}}],
        "residents": [{"person_id": "P-1", "name": "山田\u3000太郎",
                       "card_file": "/var/demo/cards/yamada-taro.json",
                       "sign_pin": "ABC123", "auth_pin": "1234"},
                      {"person_id": "P-3", "name": "山田\u3000一郎",
                       "card_file": "/var/demo/cards/yamada-ichiro.json",
                       "sign_pin": None, "auth_pin": "5678"}],
        "admin": {"url": "http://localhost:8000/admin",
                  "enroll_url": "http://localhost:8000/admin/enroll/abc"},
        **overrides}


def write(path: Path, data: Any) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data, ensure_ascii=False),
                    encoding="utf-8")
    return path


def test_no_file_means_no_demo(tmp_path: Path) -> None:
    assert read(tmp_path / "demo.json") is None
    assert DemoFile(tmp_path / "demo.json").current() is None


def test_the_whole_description_is_read(tmp_path: Path) -> None:
    demo = read(write(tmp_path / "demo.json", demo_json()))
    assert demo is not None
    assert demo.idp == "http://localhost:8000"
    bank, shop = demo.rps
    assert bank.title_in("ja") == "テスト銀行"
    assert bank.title_in("en") == "Test Bank"
    assert shop.title_in("en") == "テストショップ"  # the other language when one is missing
    assert shop.shows.of("ja") == "A passkey is enough"
    taro, ichiro = demo.residents
    assert (taro.sign_pin, taro.auth_pin) == ("ABC123", "1234")
    assert ichiro.sign_pin is None  # under 15: no signing certificate
    assert demo.admin is not None
    assert demo.admin.enroll_url == "http://localhost:8000/admin/enroll/abc"
    assert demo.as_json()["residents"][0]["card_file"] == "/var/demo/cards/yamada-taro.json"


def test_a_description_written_in_steps_is_read_as_far_as_it_goes() -> None:
    # `idp demo` records the residents first, the relying parties once they answer
    demo = parse({"residents": demo_json()["residents"]})
    assert demo.rps == ()
    assert demo.admin is None
    assert demo.idp is None
    assert len(demo.residents) == 2


def test_the_rps_as_the_json_line_names_them_are_read_too() -> None:
    demo = parse(demo_json(rps={"bank": "http://localhost:8002", "tv": "http://localhost:8008"}))
    assert [(rp.name, rp.url, rp.title_in("ja")) for rp in demo.rps] == [
        ("bank", "http://localhost:8002", "bank"), ("tv", "http://localhost:8008", "tv")]


def test_fields_a_newer_demo_adds_are_ignored() -> None:
    data = demo_json(started_at=1796239800)
    data["rps"][0]["port"] = 8002
    assert parse(data).rps[0].name == "bank"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,hi", "//evil.example",
                                 "http://a b.example", "ftp://files.example/x", ""])
def test_only_http_urls_become_links(url: str) -> None:
    data = demo_json()
    data["rps"][0]["url"] = url
    with pytest.raises(ValueError, match=r"rps"):
        parse(data)
    with pytest.raises(ValueError, match=r"admin"):
        parse(demo_json(admin={"url": url}))


@pytest.mark.parametrize("data", [
    [], "demo", 42, None,
    {"residents": "everyone"},
    {"residents": [{"person_id": "P-1"}]},  # no name, no card file
    {"residents": [{"person_id": "", "name": "x", "card_file": "f"}]},
    {"rps": [{"name": "bank"}]},  # no URL
    {"rps": [{"name": "bank", "url": "http://localhost:8002", "title": "Bank"}]},
    {"admin": "http://localhost:8000/admin"},
    {"idp": 8000},
])
def test_a_description_of_another_shape_is_refused_with_its_reason(data: Any) -> None:
    with pytest.raises(ValueError, match=r"not a demo description: \d+ problem"):
        parse(data)


@pytest.mark.parametrize("text", ["", "{", "[" * 100_000, "{\"residents\": [}", "\ufeff{}"])
def test_a_file_that_is_not_json_is_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(ValueError, match="not JSON"):
        read(write(tmp_path / "demo.json", text))


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "demo.json"
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(ValueError, match="cannot read"):
        read(path)


def test_a_malformed_file_is_logged_once_and_read_as_no_demo(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    demo_file = DemoFile(write(tmp_path / "demo.json", {"residents": "everyone"}))
    with caplog.at_level(logging.WARNING, logger="idp.demo_info"):
        assert demo_file.current() is None
        assert demo_file.current() is None
    [record] = caplog.records
    assert "ignoring the demo file" in record.getMessage()
    assert "residents" in record.getMessage()


def test_the_file_is_read_again_when_the_demo_rewrites_it(tmp_path: Path) -> None:
    path = write(tmp_path / "demo.json", {"residents": demo_json()["residents"]})
    demo_file = DemoFile(path)
    first = demo_file.current()
    assert first is not None
    assert first.rps == ()
    assert demo_file.current() is first  # unchanged: not parsed again
    write(path, demo_json())
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    second = demo_file.current()
    assert second is not None
    assert [rp.name for rp in second.rps] == ["bank", "shop"]
    path.unlink()
    assert demo_file.current() is None
