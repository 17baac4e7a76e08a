"""``/``: the front page says what the product is, and on a demo is the demo's front door."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from flask import Flask

from idp.app import create_app, services_of
from idp.settings import Settings
from idp.web.front import LIFE_EVENTS
from tests.unit.oidc.conftest import ISSUER
from tests.unit.test_demo_info import demo_json
from trust.jlis_sim.cli_person import person

HTML = {"Accept": "text/html"}
JSON = {"Accept": "application/json"}


def demo_path(app: Flask) -> Path:
    path = services_of(app).settings.demo_file_path
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def with_demo(app: Flask, data: Any) -> Flask:
    demo_path(app).write_text(data if isinstance(data, str) else json.dumps(data),
                              encoding="utf-8")
    return app


def page(app: Flask, query: str = "", headers: dict[str, str] | None = None) -> str:
    answer = app.test_client().get("/" + query, headers=headers or HTML)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.mimetype == "text/html"
    return answer.get_data(as_text=True)


def test_without_a_demo_the_page_explains_the_product_only(app: Flask) -> None:
    html = page(app)
    assert '<html lang="ja">' in html
    assert "マイナンバーカードの署名用電子証明書" in html
    assert "J-LIS" in html
    assert "ログインのたびに" in html
    assert "何を信頼してよいか" in html  # what relying parties may rely on
    assert 'href="http://idp.test/account"' in html
    assert 'id="demo"' not in html
    assert "idp card sign" not in html
    assert "/admin" not in html


def test_the_page_is_in_english_on_request(app: Flask) -> None:
    html = page(app, "?lang=en")
    assert '<html lang="en">' in html
    assert "signing certificate of your My Number Card" in html
    assert "Checked again at every sign-in" in html
    assert 'href="http://idp.test/account?lang=en"' in html
    assert "日本語" in html  # the way back
    assert "English" in page(app, headers={**HTML, "Accept-Language": "ja"})


def test_a_demo_shows_its_services_residents_pins_and_commands(app: Flask) -> None:
    html = page(with_demo(app, demo_json()))
    demo = html[html.index('id="demo"'):]
    assert 'href="http://localhost:8002"' in demo
    assert "テスト銀行" in demo
    assert "口座開設は確認済みの本人情報で" in demo
    assert "山田\u3000太郎" in demo
    assert "ABC123" in demo
    assert "1234" in demo
    assert "/var/demo/cards/yamada-taro.json" in demo
    assert "15歳未満には署名用電子証明書が発行されません" in demo  # 一郎 has no signing PIN
    assert ("idp card sign &#39;&lt;URL&gt;&#39; --card-file /var/demo/cards/yamada-taro.json "
            "--pin ABC123") in demo
    assert "idp card sign &#39;&lt;URL&gt;&#39; --card-file /var/demo/cards/yamada-ichiro.json " \
           "--pin 5678" in demo  # a child answers card logins with the auth PIN
    assert f"export IDP_VAR_DIR={services_of(app).settings.var_dir.resolve()}" in demo
    assert 'href="http://localhost:8000/admin"' in html
    assert 'href="http://localhost:8000/admin/enroll/abc"' in html
    assert "http://127.0.0.1:8001" in demo  # the simulator


def test_the_life_events_name_the_resident_and_the_exact_commands(app: Flask) -> None:
    html = page(with_demo(app, demo_json()))
    events = html[html.index('id="life-events"'):]
    # the first resident with a signing certificate; commands as trust/jlis_sim/cli_person.py
    assert "idp sim person move P-1 --address &#39;東京都港区芝公園4-2-8&#39;" in events
    assert "idp sim person rename P-1 --name &#39;鈴木 太郎&#39;" in events
    for event in ("renew", "lose-card", "found-card"):
        assert f"idp sim person {event} P-1</code>" in events
    assert "再発行を求め" in events


@pytest.mark.parametrize(("event", "options"), LIFE_EVENTS)
def test_each_life_event_command_is_one_the_simulator_takes(
        event: str, options: tuple[str, ...]) -> None:
    command = person.commands[event]
    with command.make_context(event, ["P-1", *options]) as context:  # parses, runs nothing
        assert context.params["person_id"] == "P-1"


def test_the_demo_reads_in_english(app: Flask) -> None:
    html = page(with_demo(app, demo_json()), "?lang=en")
    assert "Test Bank" in html
    assert "Account opening" in html
    assert "A passkey is enough" in html
    assert "Card reported lost" in html
    assert "none (no signing certificate is issued under 15)" in html


def test_a_demo_still_starting_shows_what_it_has(app: Flask) -> None:
    html = page(with_demo(app, {"residents": demo_json()["residents"]}))
    assert "サービスはまだ起動していません" in html
    assert "ABC123" in html
    assert "/admin" not in html


@pytest.mark.parametrize("broken", ["{", '{"residents": "everyone"}', "[]",
                                    json.dumps(demo_json(rps=[{"name": "x",
                                                               "url": "javascript:alert(1)"}]))])
def test_a_malformed_demo_file_leaves_the_product_page_and_a_log_line(
        app: Flask, broken: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="idp.demo_info"):
        html = page(with_demo(app, broken))
        answer = app.test_client().get("/", headers=JSON)
    assert "マイナンバーカードの署名用電子証明書" in html
    assert 'id="demo"' not in html
    assert "javascript:" not in html
    assert answer.status_code == 200
    assert answer.get_json()["demo"] is None
    assert any("ignoring the demo file" in r.getMessage() for r in caplog.records)


def test_an_unreadable_demo_path_is_no_demo(app: Flask) -> None:
    demo_path(app).mkdir()  # a directory where the file should be
    assert 'id="demo"' not in page(app)


def test_what_the_file_says_is_escaped_not_run(app: Flask) -> None:
    data = demo_json()
    data["residents"][0]["name"] = "<script>alert(1)</script>"
    data["rps"][0]["shows"]["ja"] = '<img src=x onerror="alert(1)">'
    html = page(with_demo(app, data))
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_json_face_gives_the_same_data(app: Flask) -> None:
    answer = app.test_client().get("/", headers=JSON)
    assert answer.status_code == 200
    assert answer.get_json() == {
        "issuer": ISSUER, "demo": None,
        "links": {"account": f"{ISSUER}/account",
                  "openid_configuration": f"{ISSUER}/.well-known/openid-configuration"}}
    with_demo(app, demo_json())
    body = app.test_client().get("/", headers=JSON).get_json()
    assert body["demo"]["residents"][0] == demo_json()["residents"][0]
    assert body["demo"]["rps"][0] == demo_json()["rps"][0]
    assert body["demo"]["admin"] == demo_json()["admin"]
    assert body["demo"]["rps"][1]["title"] == {"ja": "テストショップ", "en": ""}


def test_the_front_page_carries_the_security_headers(app: Flask) -> None:
    with_demo(app, demo_json())  # it shows PINs: never cached, never framed
    for headers in (HTML, JSON):
        answer = app.test_client().get("/", headers=headers)
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    html = app.test_client().get("/", headers=HTML).get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # no inline script on the page


def test_only_get_is_answered(app: Flask) -> None:
    answer = app.test_client().post("/", json={})
    assert answer.status_code == 405
    assert answer.get_json()["error"]


def test_the_demo_file_setting_names_another_file(sqlite_settings: Settings,
                                                  tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps(demo_json()), encoding="utf-8")
    app = create_app(sqlite_settings.model_copy(update={"demo_file": elsewhere}))
    try:
        assert "ABC123" in page(app)
    finally:
        services_of(app).engine.dispose()


def test_the_json_face_of_a_demo_is_as_docs_openapi_yaml_says(app: Flask) -> None:
    # the conformance suite meets no demo (it has no demo file); this checks the demo's shape
    spec = yaml.safe_load((Path(__file__).parents[3] / "docs" / "openapi.yaml").read_text())
    schema = {"$ref": "#/components/schemas/FrontPage", "components": spec["components"]}
    for data in (demo_json(), {"residents": demo_json()["residents"]}):
        body = with_demo(app, data).test_client().get("/", headers=JSON).get_json()
        assert body["demo"] is not None
        jsonschema.validate(body, schema, cls=jsonschema.Draft202012Validator)


def test_the_language_chosen_on_a_page_stays_for_the_next_pages(app: Flask) -> None:
    browser = app.test_client()
    first = browser.get("/?lang=en", headers=HTML)
    assert "lang=en" in first.headers["Set-Cookie"]
    assert "HttpOnly" in first.headers["Set-Cookie"]
    assert "SameSite=Lax" in first.headers["Set-Cookie"]
    assert '<html lang="en">' in page_of(browser, "/")  # the choice is remembered
    assert '<html lang="en">' in page_of(browser, "/account")  # on every page
    assert '<html lang="ja">' in page_of(browser, "/?lang=ja")  # and can be changed back
    assert '<html lang="ja">' in page_of(browser, "/account")
    assert "Set-Cookie" not in browser.get("/?lang=xx", headers=HTML).headers
    assert "Set-Cookie" not in browser.get("/?lang=en", headers=JSON).headers  # pages only


def page_of(browser: Any, path: str) -> str:
    text: str = browser.get(path, headers=HTML).get_data(as_text=True)
    return text
