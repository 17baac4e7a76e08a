"""The sample relying parties of ``idp demo``: registered once, started every run.

Which RPs exist is :data:`rp_examples.catalogue.CATALOGUE` (those whose module is installed);
the RP at catalogue position i listens on base port + 2 + i. Each is registered with
``idp clients add`` the first time the demo runs with it at that address: a client secret, or
for ``private_key_jwt`` a key pair made here (private JWK under ``{var}/secrets/``, its public
half registered), or a public device client. Credentials stay in
``{var}/secrets/rp-clients.json`` (mode 0600), never in the repository.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey

from rp_examples.catalogue import BACKCHANNEL, CALLBACK, POST_LOGOUT, Entry, available

_CLIENTS_FILE = "rp-clients.json"
# The two services of one operator link to each other.
PEERS = {"portal": "portal_mail", "portal_mail": "portal"}


@dataclass(frozen=True)
class DemoRp:
    entry: Entry
    port: int
    client: Mapping[str, Any]  # client_id, client_secret or key_file, url

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    def command(self) -> list[str]:
        return [sys.executable, "-m", self.entry.module]

    def env(self, base: Mapping[str, str], issuer: str, peers: Mapping[str, str]) -> \
            dict[str, str]:
        env = {k: v for k, v in base.items() if not k.startswith("RP_")}
        env.update(RP_ISSUER=issuer, RP_CLIENT_ID=self.client["client_id"],
                   RP_PORT=str(self.port), RP_BASE_URL=self.url, RP_LANG="ja")
        if self.client.get("client_secret"):
            env["RP_CLIENT_SECRET"] = self.client["client_secret"]
        if self.client.get("key_file"):
            env["RP_PRIVATE_KEY_FILE"] = self.client["key_file"]
        if self.entry.name in PEERS and PEERS[self.entry.name] in peers:
            env["RP_PEER_URL"] = peers[PEERS[self.entry.name]]
        return env


def prepare(idp: list[str], env: Mapping[str, str], secrets_dir: Path, base_port: int) -> \
        list[DemoRp]:
    """Every available RP with its credentials, registering those not yet registered at
    their address."""
    store = secrets_dir / _CLIENTS_FILE
    known: dict[str, Any] = json.loads(store.read_text(encoding="utf-8")) if store.exists() \
        else {}
    rps = []
    for offset, entry in available():
        port = base_port + offset
        url = f"http://localhost:{port}"
        client = known.get(entry.name)
        if client is None or client.get("url") != url:
            client = {"url": url, **_register(idp, env, entry, url, secrets_dir)}
            known[entry.name] = client
            _save(store, known)
        rps.append(DemoRp(entry, port, client))
    return rps


def _save(store: Path, known: Mapping[str, Any]) -> None:
    store.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    store.touch(mode=0o600)
    store.write_text(json.dumps(known, indent=1), encoding="utf-8")


def _register(idp: list[str], env: Mapping[str, str], entry: Entry, url: str,
              secrets_dir: Path) -> dict[str, Any]:
    args = ["clients", "add", "--name", entry.title["ja"], "--json"]
    key_file = None
    if entry.client == "device":
        args.append("--device")
    else:
        args += ["--redirect-uri", url + CALLBACK, "--post-logout-redirect-uri",
                 url + POST_LOGOUT, "--sector-identifier", entry.sector or f"{entry.name}.example"]
        if entry.backchannel:
            args += ["--backchannel-logout-uri", url + BACKCHANNEL]
    if entry.client == "private_key_jwt":
        key_file, jwks_file = _key_pair(secrets_dir, entry.name)
        args += ["--auth-method", "private_key_jwt", "--jwks", str(jwks_file)]
    answer = subprocess.run([*idp, *args], env=dict(env), check=True,  # noqa: S603
                            capture_output=True, text=True)
    made = json.loads(answer.stdout)
    client: dict[str, Any] = {"client_id": made["client_id"]}
    if made.get("client_secret"):
        client["client_secret"] = made["client_secret"]
    if key_file is not None:
        client["key_file"] = str(key_file.resolve())
    return client


def _key_pair(secrets_dir: Path, name: str) -> tuple[Path, Path]:
    """A P-256 key for ``private_key_jwt`` (ES256): the private JWK, and a JWK Set of its
    public half to register."""
    key = ECKey.generate_key("P-256")
    kid = f"{name}-{key.thumbprint()[:16]}"
    private, public = secrets_dir / f"{name}-key.json", secrets_dir / f"{name}-jwks.json"
    secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    private.touch(mode=0o600)
    private.write_text(json.dumps({**key.as_dict(private=True), "kid": kid, "alg": "ES256"}),
                       encoding="utf-8")
    public.write_text(json.dumps({"keys": [{**key.as_dict(private=False), "kid": kid,
                                            "alg": "ES256", "use": "sig"}]}), encoding="utf-8")
    return private, public


def listing(rps: list[DemoRp]) -> list[dict[str, Any]]:
    """The RPs as ``demo.json`` lists them (for the IdP's front door)."""
    return [{"name": rp.entry.name, "url": rp.url, "title": dict(rp.entry.title),
             "shows": dict(rp.entry.shows)} for rp in rps]
