"""The app refuses DNS-rebinding hosts and cross-origin writes (api/guards.py), and serves its
API docs without a CDN."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from labelloop.api import create_app
from labelloop.api.guards import LOOPBACK_HOSTS


@pytest.fixture
def loopback_client(settings):
    """The app as ``labelloop serve`` builds it on 127.0.0.1."""
    app = create_app(settings, allowed_hosts=[*LOOPBACK_HOSTS, "127.0.0.1"])
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        yield client


def test_only_loopback_host_names_are_answered(loopback_client):
    assert loopback_client.get("/api/v1/health").status_code == 200
    for host in ("localhost:8000", "[::1]:8000", "127.0.0.1"):
        assert loopback_client.get("/api/v1/datasets", headers={"host": host}).status_code == 200
    # A page on evil.example whose name now resolves to 127.0.0.1 (DNS rebinding).
    answer = loopback_client.get("/api/v1/datasets", headers={"host": "evil.example:8000"})
    assert answer.status_code == 400
    assert answer.json()["error"] == "host_not_allowed"
    assert "'evil.example'" in answer.json()["message"]


def test_cross_origin_writes_are_refused_and_nothing_changes(loopback_client):
    body = {"name": "pets", "task_type": "classification", "labels": ["cat"]}
    evil = {"origin": "http://evil.example"}
    answer = loopback_client.post("/api/v1/datasets", json=body, headers=evil)
    assert answer.status_code == 403 and answer.json()["error"] == "cross_origin"
    files = {"files": ("a.png", b"\x89PNG", "image/png")}
    assert (
        loopback_client.post("/api/v1/datasets/1/imports", files=files, headers=evil).status_code
        == 403
    )
    assert loopback_client.get("/api/v1/datasets").json() == []
    # The page served by labelloop itself, and clients that send no Origin (curl, scripts).
    same = {"origin": "http://127.0.0.1:8000"}
    assert loopback_client.post("/api/v1/datasets", json=body, headers=same).status_code == 201
    assert loopback_client.delete("/api/v1/datasets/pets", headers=evil).status_code == 403
    assert loopback_client.delete("/api/v1/datasets/pets").status_code in (200, 204)
    # Behind a proxy that rewrites Host, the forwarded host is the page's.
    proxied = {"origin": "https://label.example.org", "x-forwarded-host": "label.example.org"}
    assert loopback_client.post("/api/v1/datasets", json=body, headers=proxied).status_code == 201


def test_api_docs_work_offline(loopback_client):
    page = loopback_client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert "/docs-assets/swagger-ui-bundle.js" in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert loopback_client.get(f"/docs-assets/{asset}").status_code == 200
    assert loopback_client.get("/api/v1/openapi.json").json()["info"]["title"] == "labelloop"
