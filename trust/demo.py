"""`idp demo`: the whole stack for IDP_VAR_DIR — simulator, IdP and the sample relying parties.

First run prepares the instance: the IdP database (`idp db upgrade`), the simulator's CAs exported
as the IdP's trust anchors (`{var_dir}/trust/`), a registered verifier whose API key the IdP reads
from `{var_dir}/secrets/jlis-api-key`, and three demo residents with card files under
`{var_dir}/cards/` (an adult, a person who will move, a 12-year-old without a signing certificate).
Every run then registers the sample RPs not yet registered (trust/demo_rps.py), starts `idp
serve` on P, `idp sim serve` on P+1 and each RP (`python -m rp_examples.NAME`) from P+2, waits
until all answer, writes what runs into `{var_dir}/demo.json` (the IdP's front door page reads
it), prints it, and stops everything on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from types import FrameType
from typing import Any

import click
import requests

from idp.cli.support import Refused, echo_json, get_settings
from idp.settings import Settings
from trust import demo_rps
from trust.jlis_sim import residents, verifiers
from trust.jlis_sim.store import open_sim

_IDP = [sys.executable, "-c", "from idp.cli import main; main()"]
_STATE_FILE = "demo.json"
_ADMIN = "demo-admin"  # the demo's administrator (docs/admin.md)
_START_TIMEOUT_SECONDS = 90.0


def _demo_people(today: date) -> list[dict[str, Any]]:
    return [
        {"name": "山田 太郎", "birth": date(1980, 2, 17), "sex": 1,
         "address": "東京都千代田区永田町1-7-1", "card": "yamada-taro.json"},
        {"name": "佐藤 花子", "birth": date(1992, 8, 3), "sex": 2,
         "address": "大阪府大阪市北区中之島1-3-20", "card": "sato-hanako.json"},
        {"name": "山田 一郎", "birth": today.replace(year=today.year - 12), "sex": 1,
         "address": "東京都千代田区永田町1-7-1", "card": "yamada-ichiro.json"},
    ]


@click.command("demo")
@click.option("--base-port", type=int, default=8000, show_default=True,
              help="IdP on P, J-LIS simulator on P+1, sample RPs from P+2.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON line once all answer.")
def demo(base_port: int, as_json: bool) -> None:
    """Run the whole demo stack for IDP_VAR_DIR (created on first run); Ctrl-C stops it."""
    settings = get_settings()
    idp_url, sim_url = f"http://localhost:{base_port}", f"http://127.0.0.1:{base_port + 1}"
    env = _env(settings, idp_url, sim_url)
    state = _prepare(settings, env, sim_url)
    rps = demo_rps.prepare(_IDP, env, settings.var_dir / "secrets", base_port)
    _check_ports_free([base_port, base_port + 1, *(rp.port for rp in rps)])
    peers = {rp.entry.name: rp.url for rp in rps}
    processes = [
        subprocess.Popen([*_IDP, "sim", "serve"], env=env),  # noqa: S603  (our own CLI)
        subprocess.Popen([*_IDP, "serve", "--host", "127.0.0.1", "--port", str(base_port),  # noqa: S603
                          "--workers", "1"], env=env),
        *(subprocess.Popen(rp.command(), env=rp.env(env, idp_url, peers))  # noqa: S603
          for rp in rps),
    ]
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        for url in (sim_url, idp_url):
            _wait_healthy(f"{url}/healthz", processes)
        for rp in rps:
            _wait_healthy(f"{rp.url}/whoami", processes)
        summary = {"idp": idp_url, "jlis": sim_url, "rps": {rp.entry.name: rp.url for rp in rps},
                   "residents": state["residents"],
                   "admin": {"url": f"{idp_url}/admin/", "enroll_url": _enrol_url(env)}}
        _record(settings, {**state, **summary, "rps": demo_rps.listing(rps)})
        _announce(summary, rps, as_json)
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        raise Refused("a demo process stopped; see its output above")
    except KeyboardInterrupt:
        pass
    finally:
        _stop(processes)


def _check_ports_free(ports: list[int]) -> None:
    """Refuse at once (exit 1) when a port the demo needs is taken, rather than start half."""
    for port in ports:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                raise Refused(f"port {port} is in use; try --base-port with another "
                              "number") from None


def _record(settings: Settings, state: dict[str, Any]) -> None:
    """``{var_dir}/demo.json``: what runs now (read by the IdP's front door page)."""
    state_file = settings.var_dir / _STATE_FILE
    state_file.write_text(json.dumps(state, ensure_ascii=False, indent=1), encoding="utf-8")
    state_file.chmod(0o600)  # it lists the demo PINs


def _enrol_url(env: dict[str, str]) -> str:
    """A fresh one-time enrolment URL (valid 15 minutes) for the demo's administrator, made on
    the first run and given a new URL at every run."""
    for command in (["admin", "enrol", _ADMIN], ["admin", "add", _ADMIN, "--role", "admin"]):
        made = subprocess.run([*_IDP, *command, "--json"], env=env, capture_output=True,  # noqa: S603
                              text=True, check=False)
        if made.returncode == 0:
            return str(json.loads(made.stdout)["enroll_url"])
    raise Refused(f"could not make the demo administrator: {made.stderr.strip()}")


def _env(settings: Settings, idp_url: str, sim_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "IDP_VAR_DIR": str(settings.var_dir.resolve()),
        "IDP_SIM__URL": sim_url, "IDP_JLIS__URL": sim_url,
        "IDP_JLIS__API_KEY_FILE": str(_key_file(settings).resolve()),
        "IDP_OIDC__ISSUER": idp_url,
        "IDP_WEBAUTHN__ORIGINS": json.dumps([idp_url]),
        # The sample RPs listen on http://localhost: the bank's Shared Signals push endpoint.
        "IDP_EVENTS__ALLOW_HTTP_LOOPBACK": "true",
    })
    # A terminal, not a log shipper: plain lines, and no line per request drowning the summary
    # (unless the person asks: IDP_LOGGING__FORMAT=json, IDP_LOGGING__REQUESTS=true).
    env.setdefault("IDP_LOGGING__FORMAT", "text")
    env.setdefault("IDP_LOGGING__REQUESTS", "false")
    return env


def _key_file(settings: Settings) -> Path:
    return settings.var_dir / "secrets" / "jlis-api-key"


def _prepare(settings: Settings, env: dict[str, str], sim_url: str) -> dict[str, Any]:
    """Create the instance on first run; afterwards read what the first run recorded."""
    state_file = settings.var_dir / _STATE_FILE
    if state_file.exists():
        state: dict[str, Any] = json.loads(state_file.read_text(encoding="utf-8"))
        return state
    click.echo(f"preparing a demo instance in {settings.var_dir} ...", err=True)
    subprocess.run([*_IDP, "db", "upgrade"], env=env, check=True,  # noqa: S603
                   stdout=subprocess.DEVNULL)
    sim = open_sim(settings.model_copy(update={"sim": settings.sim.model_copy(
        update={"url": sim_url})}))
    subprocess.run([*_IDP, "sim", "ca", "export", str(settings.anchors_dir)],  # noqa: S603
                   env=env, check=True, stdout=subprocess.DEVNULL)
    key = verifiers.register(sim, "demo IdP")["api_key"]
    key_file = _key_file(settings)
    key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_file.touch(mode=0o600)
    key_file.write_text(key + "\n", encoding="utf-8")
    people = []
    for person in _demo_people(sim.now().date()):
        added = residents.add(sim, residents.NewResident(
            name=person["name"], birth_date=person["birth"], sex=person["sex"],
            address=person["address"], card_file=settings.var_dir / "cards" / person["card"]))
        people.append({"person_id": added["person_id"],
                       "name": person["name"].replace(" ", "\u3000"),
                       "card_file": added["card_file"], "sign_pin": added["sign_pin"],
                       "auth_pin": added["auth_pin"]})
    state = {"residents": people}
    state_file.write_text(json.dumps(state, ensure_ascii=False, indent=1), encoding="utf-8")
    state_file.chmod(0o600)  # it lists the demo PINs
    return state


def _wait_healthy(url: str, processes: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            raise Refused(f"a demo process exited before {url} answered")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise Refused(f"{url} did not answer within {_START_TIMEOUT_SECONDS:.0f} s")


def _announce(summary: dict[str, Any], rps: list[demo_rps.DemoRp], as_json: bool) -> None:
    if as_json:
        echo_json(summary)
        sys.stdout.flush()
        return
    say = click.echo
    say(click.style("jpki-idp デモ / demo", bold=True))
    say(f"\nはじめにこちらを開いてください / Start here:  {summary['idp']}/")
    say("  マイナンバーカードで本人確認するOpenID Connectプロバイダ（テスト用のJ-LIS模擬環境）。")
    say("  An OpenID Connect provider anchored to the My Number Card (against a J-LIS simulator).")
    say("\nサンプルの事業者 / Sample relying parties:")
    for rp in rps:
        say(f"  {rp.url:<24} {rp.entry.title['ja']} / {rp.entry.title['en']}")
        say(f"  {'':<24} {rp.entry.shows['ja']}")
    say("\nデモの住民（カードファイル、署名用PIN / 利用者証明用PIN）/ Demo residents (card file, "
        "signing PIN / auth PIN):")
    for person in summary["residents"]:
        say(f"  {person['name']} ({person['person_id']})")
        say(f"    {person['card_file']}  sign {person['sign_pin'] or '— (15歳未満 / under 15)'}"
            f" / auth {person['auth_pin']}")
    first = summary["residents"][0]
    say("\nカードの読み取りを求められたら、ページのURLで / When a page asks for the card, with "
        "the URL it shows:")
    say(f"  idp card sign <URL> --card-file {first['card_file']} --pin {first['sign_pin']}"
        "   (登録・署名 / onboarding, signing)")
    say(f"  idp card sign <URL> --card-file {first['card_file']} --pin {first['auth_pin']}"
        "       (ログイン / login)")
    say("\n暮らしの出来事を試す / Try a life event (then log in again and see what changes):")
    mover = summary["residents"][1] if len(summary["residents"]) > 1 else first
    say(f"  idp sim person move {mover['person_id']} --address '大阪府大阪市中央区大手前2-1-22'")
    say(f"  idp sim person renew {mover['person_id']}      "
        "(idp sim person --help: rename, lose-card, ...)")
    admin = summary["admin"]
    say(f"\n管理画面 / Administration: {admin['url']}")
    say(f"  最初にパスキーを登録（15分間有効）/ register your passkey first (valid 15 min): "
        f"{admin['enroll_url']}")
    say(f"\nJ-LIS 模擬環境 / simulator: {summary['jlis']}     Ctrl-C で終了 / Ctrl-C stops all.")


def _raise_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
