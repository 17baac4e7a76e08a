"""The baseline of ``python -m bench login``: a trivial Flask JSON POST with a session cookie,
served by gunicorn with the options ``idp serve`` gives it (``idp.cli.serve``'s ``_Gunicorn``).

    python -m bench.trivial --port P --workers W --threads T

``POST /echo`` reads the JSON body and the signed session cookie, counts in the session and
answers JSON: the per-request cost of gunicorn, Werkzeug and Flask with nothing of the IdP.
"""

from __future__ import annotations

import argparse
import secrets
from typing import Any

from flask import Flask, jsonify, request, session


def make_app() -> Flask:
    app = Flask("bench-trivial")
    app.secret_key = secrets.token_bytes(32)

    @app.post("/echo")
    def echo() -> Any:
        body = request.get_json(force=True, silent=True) or {}
        session["n"] = int(session.get("n", 0)) + 1
        return jsonify(ok=True, n=session["n"], echo=body.get("x"))

    return app


def main(argv: list[str] | None = None) -> int:
    from idp.cli.serve import _Gunicorn, _shm_or_tmp

    parser = argparse.ArgumentParser(prog="python -m bench.trivial")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)
    _Gunicorn(settings_factory=make_app, options={  # what idp serve sets, nothing else
        "bind": f"127.0.0.1:{args.port}", "workers": args.workers,
        "worker_class": "gthread" if args.threads > 1 else "sync", "threads": args.threads,
        "accesslog": None, "errorlog": "-", "worker_tmp_dir": str(_shm_or_tmp()),
        "preload_app": False}).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
