"""After the soak: is everything the run made still in the database, intact?

Counts: the private IDs, passkeys and grants created since the start against what the clients
saw succeed. Then every person, one by one: their live anchor is the signing certificate the
simulator last issued them, the private ID is active, their passkey is bound to that private ID
with the sign count the authenticator reached, and the newest refresh token they hold is stored
unused and unrevoked, of a grant to the soak's client for that private ID.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bench.soak_flows import Person


@dataclass
class Checked:
    accounts: int = 0  # private IDs made during the run
    passkeys: int = 0
    grants: int = 0  # grants to the soak's client made during the run
    people: int = 0  # people checked one by one
    problems: list[str] = field(default_factory=list)


def check(connection: Any, people: list[Person], *, since: datetime, client_id: str,
          expected_accounts: int, min_grants: int) -> Checked:
    """``connection``: a psycopg connection to the soak's database."""
    def one(sql: str, *args: Any) -> Any:
        return connection.execute(sql, args).fetchone()

    result = Checked(
        accounts=one("SELECT count(*) FROM private_ids WHERE created_at >= %s", since)[0],
        passkeys=one("SELECT count(*) FROM passkeys WHERE created_at >= %s", since)[0],
        grants=one("SELECT count(*) FROM oidc_grants WHERE created_at >= %s AND client_id = %s",
                   int(since.timestamp()), client_id)[0])
    if result.accounts != expected_accounts:
        result.problems.append(f"{result.accounts} private IDs made during the run, "
                               f"{expected_accounts} onboardings succeeded")
    if result.passkeys != expected_accounts:
        result.problems.append(f"{result.passkeys} passkeys made during the run, "
                               f"{expected_accounts} registrations succeeded")
    if result.grants < min_grants:
        result.problems.append(f"{result.grants} grants made during the run, fewer than the "
                               f"{min_grants} code exchanges that succeeded")
    for person in people:
        result.people += 1
        result.problems += [f"{person.name}: {p}" for p in _person(one, person, client_id)]
    return result


def _person(one: Any, person: Person, client_id: str) -> list[str]:
    found = one("SELECT a.private_id, p.state FROM anchors a JOIN private_ids p "
                "ON p.id = a.private_id WHERE a.serial_hex = %s AND a.superseded_by IS NULL",
                person.sign_serial)
    if found is None:
        return [f"no live anchor with serial {person.sign_serial}"]
    private_id, state = found
    problems = [] if state == "active" else [f"private ID {state}"]
    credential = person.credential or {}
    passkey = one("SELECT private_id, sign_count FROM passkeys WHERE credential_id = %s",
                  bytes.fromhex(credential.get("id", "")))
    if passkey is None:
        problems.append("passkey missing")
    elif tuple(passkey) != (private_id, credential["sign_count"]):
        problems.append(f"passkey {tuple(passkey)} != ({private_id}, "
                        f"{credential['sign_count']})")
    key = hashlib.sha256(str(person.refresh_token).encode()).hexdigest()
    token = one("SELECT t.kind, t.used, t.revoked, g.revoked, g.private_id, g.client_id "
                "FROM oidc_tokens t JOIN oidc_grants g ON g.id = t.grant_id WHERE t.key = %s",
                key)
    if token is None:
        problems.append("newest refresh token missing")
    elif tuple(token) != ("refresh", False, False, False, private_id, client_id):
        problems.append(f"newest refresh token {tuple(token)}")
    return problems
