"""The documentation of the public surface stays true: OpenAPI valid and complete, acr listed."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from flask import Flask
from openapi_spec_validator import validate

from idp.assurance import levels

DOCS = Path(__file__).parents[3] / "docs"


def _spec() -> dict:
    with (DOCS / "openapi.yaml").open(encoding="utf-8") as file:
        spec: dict = yaml.safe_load(file)
    return spec


def test_openapi_file_is_valid_openapi_3_1() -> None:
    spec = _spec()
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_every_oidc_and_interaction_route_is_in_the_openapi_file(app: Flask) -> None:
    documented = set(_spec()["paths"])
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(("oidc.", "login.", "ssf.")):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            assert path in documented, f"{path} is not documented in docs/openapi.yaml"


def test_every_acr_value_is_explained_in_assurance_md() -> None:
    text = (DOCS / "assurance.md").read_text(encoding="utf-8")
    for value in levels.supported_values():
        assert f"`{value}`" in text
