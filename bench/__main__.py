"""``python -m bench NAME [ARGS]``: a tiny dispatcher; each benchmark module has ``main(argv)``.

Without NAME, lists the benchmarks. Add one by adding a line to ``BENCHMARKS``.
"""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = {
    "crl": "bench.crl_index",  # CRL refresh and lookup at 1M / 10M revoked serials
    "token": "bench.token_endpoint",  # the token endpoint vs node-oidc-provider
    "token_network": "bench.token_network",  # POST /token with PostgreSQL across a network
    "anchor": "bench.anchor_check",  # AnchorChecker.check with a 1M-entry CRL index
    "login": "bench.login",  # complete passkey logins against idp serve on PostgreSQL
    "authlib": "bench.authlib_token",  # code exchange in process: Authlib's server vs ours
    "soak": "bench.soak",  # minutes of mixed traffic on two nodes, then the database checked
    "recheck": "bench.recheck",  # idp recheck --all over 1M anchors and 1M-entry CRLs
    "audit": "bench.audit",  # audit appends/s, and what the audit log adds to a passkey login
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in BENCHMARKS:
        print(f"usage: python -m bench {{{'|'.join(BENCHMARKS)}}} [ARGS]  (--help per benchmark)",
              file=sys.stderr)
        return 2
    module = importlib.import_module(BENCHMARKS[argv[0]])
    return int(module.main(argv[1:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
