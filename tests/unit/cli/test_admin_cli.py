"""`idp admin add|token|list`: an administrator and their one-time enrolment URL, a short-lived
API token carrying their role, and refusals with exit status 1 (2 for usage errors)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from idp import db
from idp.app import create_app, services_of
from idp.cli import cli
from idp.settings import Settings
from tests.support.sim import IDP, sim_env


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    url = f"sqlite:///{tmp_path / 'idp.sqlite3'}"
    db.upgrade(url)
    monkeypatch.setenv("IDP_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("IDP_DATABASE_URL", url)
    monkeypatch.setenv("IDP_OIDC__ISSUER", "https://idp.example")
    return Settings(var_dir=tmp_path / "var", database_url=url,
                    oidc={"issuer": "https://idp.example"})


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_add_prints_the_admin_id_and_a_one_time_enrolment_url(instance: Settings) -> None:
    code, output = _run("admin", "add", "alice", "--role", "support", "--json")
    assert code == 0, output
    made = json.loads(output)
    assert made["admin_id"].startswith("adm_")
    assert made["enroll_url"].startswith("https://idp.example/admin/enrol/")
    app = create_app(instance)
    try:
        page = app.test_client().get(made["enroll_url"].removeprefix("https://idp.example"))
        assert page.status_code == 200
        assert "alice" in page.get_data(as_text=True)
    finally:
        services_of(app).engine.dispose()


def test_token_prints_a_token_the_api_takes(instance: Settings) -> None:
    _run("admin", "add", "robot", "--role", "auditor")
    code, output = _run("admin", "token", "robot", "--ttl", "120", "--json")
    assert code == 0, output
    issued = json.loads(output)
    assert issued["expires_at"] == pytest.approx(time.time() + 120, abs=5)
    app = create_app(instance)
    try:
        me = app.test_client().get("/admin/api/session", headers={
            "Authorization": f"Bearer {issued['token']}"})
        assert me.get_json()["role"] == "auditor"
    finally:
        services_of(app).engine.dispose()


def test_refusals_exit_1_with_one_line(instance: Settings) -> None:
    code, output = _run("admin", "token", "nobody")
    assert code == 1
    assert "no administrator is named 'nobody'" in output
    _run("admin", "add", "alice", "--role", "admin")
    code, output = _run("admin", "add", "alice", "--role", "admin")
    assert code == 1
    assert "exists already" in output
    code, output = _run("admin", "token", "alice", "--ttl", "86400")
    assert code == 1
    assert "between 1 and 3600" in output


def test_usage_errors_exit_2(instance: Settings) -> None:
    assert _run("admin", "add", "alice", "--role", "root")[0] == 2
    assert _run("admin", "add", "alice")[0] == 2


def test_list_shows_who_enrolled(instance: Settings) -> None:
    _run("admin", "add", "alice", "--role", "admin")
    code, output = _run("admin", "list", "--json")
    assert code == 0
    assert json.loads(output) == [{"admin_id": json.loads(output)[0]["admin_id"],
                                   "name": "alice", "role": "admin", "enrolled": False}]


def test_the_console_script_adds_an_administrator(tmp_path: Path) -> None:
    """The real `idp` executable, as an operator runs it."""
    var_dir = tmp_path / "var"
    env = sim_env(var_dir, "http://127.0.0.1:1")
    subprocess.run([IDP, "db", "upgrade"], env=env, check=True, capture_output=True)
    made = subprocess.run([IDP, "admin", "add", "ops", "--role", "admin", "--json"], env=env,
                          check=True, capture_output=True, text=True)
    assert "/admin/enrol/" in json.loads(made.stdout)["enroll_url"]
    issued = subprocess.run([IDP, "admin", "token", "ops", "--json"], env=env, check=True,
                            capture_output=True, text=True)
    assert json.loads(issued.stdout)["token"].startswith("adm.")


def test_accounts_and_clients_from_the_shell(instance: Settings) -> None:
    """The console's actions on accounts and relying parties, as `idp admin account|client`."""
    from idp.accounts.models import PrivateId
    from idp.oidc import clients

    app = create_app(instance)
    try:
        with db.transaction(services_of(app).sessions) as session:
            person = PrivateId()
            session.add(person)
            session.flush()
            private_id = person.id
            client_id, _ = clients.register(session, name="Bank",
                                            redirect_uris=["https://bank.example/cb"])
    finally:
        services_of(app).engine.dispose()
    code, output = _run("admin", "account", "lock", private_id, "--reason", "ticket 5")
    assert code == 0, output
    assert json.loads(output)["locked"] is True
    assert json.loads(_run("admin", "account", "show", private_id)[1])["lock"]["reason"] \
        == "ticket 5"
    assert json.loads(_run("admin", "account", "unlock", private_id, "--reason", "ok")[1]) \
        ["locked"] is False
    assert _run("admin", "account", "lock", private_id)[0] == 2  # --reason is required
    assert _run("admin", "account", "show", "pid_nobody")[0] == 1

    assert _run("admin", "client", "disable", client_id, "--reason", "ended")[0] == 0
    assert json.loads(_run("admin", "client", "show", client_id)[1])["disabled"] is True
    assert _run("admin", "client", "enable", client_id, "--reason", "renewed")[0] == 0
    code, output = _run("admin", "client", "rotate-secret", client_id, "--json")
    assert code == 0
    assert len(json.loads(output)["client_secret"]) > 30


def test_enrol_gives_an_existing_administrator_a_new_url(instance: Settings) -> None:
    first = json.loads(_run("admin", "add", "alice", "--role", "admin", "--json")[1])
    code, output = _run("admin", "enrol", "alice", "--json")
    assert code == 0, output
    again = json.loads(output)
    assert again["admin_id"] == first["admin_id"]
    assert again["enroll_url"] != first["enroll_url"]
    assert _run("admin", "enrol", "nobody")[0] == 1


def test_shell_actions_are_recorded_as_the_operating_system_user(
        instance: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """`idp admin ...` names who ran it in the audit log: ``admin:cli:<OS user>``, not a bare
    ``cli`` that any operator could have been."""
    from idp.accounts.models import PrivateId

    monkeypatch.setattr("getpass.getuser", lambda: "hanako")
    _run("admin", "add", "robot", "--role", "auditor")
    _run("admin", "token", "robot", "--ttl", "60")
    app = create_app(instance)
    try:
        with db.transaction(services_of(app).sessions) as session:
            person = PrivateId()
            session.add(person)
            session.flush()
            private_id = person.id
        assert _run("admin", "account", "lock", private_id, "--reason", "ticket 9")[0] == 0
        recorded = {entry.action: entry.actor
                    for entry in services_of(app).audit.entries(limit=None)
                    if entry.action.startswith("admin.")}
    finally:
        services_of(app).engine.dispose()
    assert recorded == {"admin.add": "admin:cli:hanako", "admin.token": "admin:cli:hanako",
                        "admin.account.lock": "admin:cli:hanako"}
