"""Jinja2 templates shared by the portal and the démarche sites, with the theme switch.

The DSFR look is reserved to State websites (its licence), so the theme is a setting:
`dsfr` serves the official `@gouvfr/dsfr` assets installed by the setup, `neutre` a plain
stylesheet of our own with the same page structure.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from bridge.api.auth.csrf import FIELD, csrf_token
from bridge.errors import SetupError as StackError

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


def page_window(current: int, pages: int, around: int = 2) -> list[int | None]:
    """The page links a pagination shows: the first, the last, and `around` pages each side of
    the current one; None where pages are left out (« … »). Never one link per page: a search
    over a million people would print fifty thousand."""
    shown = sorted({1, pages, *range(max(1, current - around), min(pages, current + around) + 1)})
    window: list[int | None] = []
    previous = 0
    for page in shown:
        if previous and page - previous > 1:
            window.append(None)
        window.append(page)
        previous = page
    return window


def make_templates(*directories: Path, theme: str, service_name: str) -> Jinja2Templates:
    """Templates looked up in `directories` first, then in the shared ones."""
    templates = Jinja2Templates(directory=[*directories, TEMPLATES_DIR])
    templates.env.globals.update(
        csrf_token=csrf_token,
        csrf_field=FIELD,
        theme=theme,
        service_name=service_name,
        page_window=page_window,
    )
    return templates


def mount_assets(app: FastAPI, *, theme: str, dsfr_dist: Path | None) -> None:
    """Serve our static files, and the DSFR distribution when the DSFR theme is chosen."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    if theme != "dsfr":
        return
    if dsfr_dist is None or not (dsfr_dist / "dsfr.min.css").is_file():
        raise StackError(
            f"Les fichiers du DSFR sont absents ({dsfr_dist}) : lancez « make setup » "
            "(npm ci) ou choisissez le thème neutre avec BRIDGE_THEME=neutre."
        )
    app.mount("/dsfr", StaticFiles(directory=dsfr_dist), name="dsfr")
