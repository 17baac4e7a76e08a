"""Two workers (two engines, as two gunicorn processes have) × threads on one SQLite file:
authorize, token, userinfo and refresh interleave, and every request gets its answer — no
"database is locked" turned into a 500 (every write transaction there starts with its write)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask

from idp.accounts.sessions import COOKIE_NAME
from idp.app import create_app, services_of
from idp.settings import Settings
from tests.unit.oidc.conftest import ISSUER, Rp, register


@pytest.fixture
def workers(sqlite_settings: Settings) -> Iterator[list[Flask]]:
    settings = sqlite_settings.model_copy(update={"oidc": sqlite_settings.oidc.model_copy(
        update={"issuer": ISSUER})})
    apps = [create_app(settings) for _ in range(2)]
    yield apps
    for app in apps:
        services_of(app).engine.dispose()


def test_two_workers_with_threads_on_one_sqlite_file_answer_every_request(
        workers: list[Flask]) -> None:
    client_id, secret = register(workers[0])
    first = Rp(workers[0], workers[0].test_client(), client_id, secret)
    first.login()
    cookie = first.browser.get_cookie(COOKIE_NAME)
    assert cookie is not None
    first.code()  # consent once, so later authorizations answer with a code at once
    codes = [first.code() for _ in range(40)]

    def one_login(index: int) -> list[tuple[str, int]]:
        app = workers[index % 2]
        rp = Rp(app, app.test_client(), client_id, secret)
        rp.browser.set_cookie(COOKIE_NAME, cookie.value, domain="localhost")
        tokens = rp.exchange(*codes[index])
        answers = [("token", tokens.status_code)]
        _location, _verifier = rp.authorize()  # issues a grant and a code: a write
        answers.append(("authorize", 303))
        if tokens.status_code == 200:
            body = tokens.get_json()
            info = rp.browser.get("/userinfo",
                                  headers={"Authorization": f"Bearer {body['access_token']}"})
            refreshed = rp.token(grant_type="refresh_token", refresh_token=body["refresh_token"])
            answers += [("userinfo", info.status_code), ("refresh", refreshed.status_code)]
        return answers

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = Counter(answer for login in pool.map(one_login, range(len(codes)))
                          for answer in login)
    assert answers == {("token", 200): 40, ("authorize", 303): 40, ("userinfo", 200): 40,
                       ("refresh", 200): 40}
