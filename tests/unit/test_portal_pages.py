"""Portal pages that need no Keycloak: the landing page, both themes, French error pages."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bridge.api.app import create_app
from bridge.api.templating import page_window
from bridge.devstack.errors import StackError
from bridge.settings import Settings

ClientOf = Callable[..., TestClient]


@pytest.fixture
def client_of() -> Iterator[ClientOf]:
    """Test clients of apps built from settings; their stores are closed after the test
    (the clients do not run the lifespan, which would start the projection)."""
    apps: list[FastAPI] = []

    def make(**settings: object) -> TestClient:
        apps.append(create_app(Settings(**settings)))  # type: ignore[arg-type]
        return TestClient(apps[-1])

    yield make
    for app in apps:
        app.state.context.close()


def test_the_landing_page_invites_to_log_in_or_create_an_account(client_of: ClientOf) -> None:
    page = client_of().get("/")
    assert page.status_code == 200
    assert "Connectez-vous au portail de services" in page.text
    assert 'href="/auth/login"' in page.text
    assert 'href="/auth/inscription"' in page.text
    assert '<html lang="fr"' in page.text


def test_the_dsfr_theme_serves_the_official_assets(client_of: ClientOf) -> None:
    client = client_of(theme="dsfr")
    page = client.get("/")
    assert "/dsfr/dsfr.min.css" in page.text
    assert client.get("/dsfr/dsfr.min.css").status_code == 200
    assert client.get("/dsfr/fonts/Marianne-Regular.woff2").status_code == 200


def test_the_neutral_theme_uses_nothing_of_the_dsfr(client_of: ClientOf) -> None:
    client = client_of(theme="neutre")
    page = client.get("/")
    assert "/static/neutre.css" in page.text
    assert "dsfr" not in page.text
    assert "République" not in page.text
    assert client.get("/dsfr/dsfr.min.css").status_code == 404


def test_missing_dsfr_assets_stop_the_start_with_a_clear_sentence(tmp_path: Path) -> None:
    with pytest.raises(StackError, match=r"Les fichiers du DSFR sont absents .*make setup"):
        create_app(Settings(theme="dsfr", dsfr_dist=tmp_path))


def test_legal_pages_exist_in_french(client_of: ClientOf) -> None:
    client = client_of()
    assert "Mentions légales" in client.get("/mentions-legales").text
    assert "Conditions générales d&#39;utilisation" in client.get("/cgu").text


def test_readiness_says_not_ready_when_keycloak_is_away(client_of: ClientOf) -> None:
    response = client_of(keycloak_url="http://127.0.0.1:9").get("/health/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "Keycloak ne répond pas" in response.json()["detail"]


def test_login_while_keycloak_is_away_is_a_french_503_page(client_of: ClientOf) -> None:
    response = client_of(keycloak_url="http://127.0.0.1:9").get("/auth/login")
    assert response.status_code == 503
    assert "Le service d&#39;authentification ne répond pas" in response.text


def test_the_500_page_carries_the_security_headers_too(client_of: ClientOf) -> None:
    """Starlette sends it from its outermost middleware, past ours (#17)."""
    client = client_of()
    app = client.app
    assert isinstance(app, FastAPI)

    @app.get("/panne-pour-le-test")
    def broken() -> None:
        raise RuntimeError("panne")

    page = TestClient(app, raise_server_exceptions=False).get("/panne-pour-le-test")
    assert page.status_code == 500
    assert "Erreur interne" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"


def test_an_oversized_upload_is_refused_in_french_before_anything_reads_it(
    client_of: ClientOf,
) -> None:
    """Anonymous, to the back-office's import: refused by its size alone (the form is never
    parsed nor spooled to disk), a French page on the portal, problem+json on the API."""
    client = client_of(max_body_bytes=64 * 1024)
    big = b"SIRET;raison sociale\n" + b"0" * (65 * 1024)
    page = client.post("/operateur/import", files={"fichier": ("liste.csv", big, "text/csv")})
    assert page.status_code == 413
    assert "text/html" in page.headers["content-type"]
    assert "La requête dépasse" in page.text
    api = client.post("/api/v1/verifications/mon-activite-formation", content=big)
    assert api.status_code == 413
    assert api.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("current", "pages", "links"),
    [
        (1, 1, [1]),
        (1, 4, [1, 2, 3, 4]),
        (1, 50_000, [1, 2, 3, None, 50_000]),
        (7, 50_000, [1, None, 5, 6, 7, 8, 9, None, 50_000]),
        (50_000, 50_000, [1, None, 49_998, 49_999, 50_000]),
        (4, 7, [1, 2, 3, 4, 5, 6, 7]),
    ],
)
def test_a_pagination_shows_a_window_never_one_link_per_page(
    current: int, pages: int, links: list[int | None]
) -> None:
    assert page_window(current, pages) == links


def test_what_the_start_built_is_kept_out_of_the_collectors_walks(tmp_path: Path) -> None:
    """A full collection walked every object of the app on the check API's hot path: its
    slowest answers (a batch of 500 at p99 86 ms for 8 ms at p50, `docs/performance/`)."""
    before = gc.get_freeze_count()  # what the test session's leak checks froze already
    app = create_app(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'bridge.db'}",
            sync_interval_seconds=0,
            mail_interval_seconds=0,
            import_interval_seconds=0,
            delegation_job_interval_seconds=0,
        )
    )
    with TestClient(app):
        assert gc.get_freeze_count() > before
