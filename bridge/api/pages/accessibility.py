"""« Déclaration d'accessibilité », as French public websites publish it (RGAA 4.1).

The figures come from the last automated audit (axe-core in Chromium, WCAG 2.1 A and AA:
`tests/browser/test_accessibility.py` writes `bridge/api/accessibilite.json`, shipped with
the code). An automated audit is not an RGAA audit: until a full one is made, the law asks
the statement to say « non conforme », and it does. Each moderate or minor violation the
tests let through needs its reason in `EXPLAINED` (the test fails otherwise), and the page
lists it under « Contenus non accessibles ».
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.responses import Response

from bridge.api.pages.common import VisitDep, pages_router

AUDIT_FILE = Path(__file__).resolve().parents[1] / "accessibilite.json"
EMAIL_PREFIX = "courriel : "
IMPACTS = {"critical": "critique", "serious": "sérieux", "moderate": "modéré", "minor": "mineur"}
# Why a moderate or minor violation is tolerated, by axe-core rule id (none today).
EXPLAINED: dict[str, str] = {}

router = pages_router()


@dataclass
class AuditSummary:
    """What the statement says of the last automated audit."""

    audited_on: str = ""
    engine: str = ""
    pages: list[str] = field(default_factory=list)
    emails: int = 0  # e-mail templates audited besides the pages (« courriel : … »)
    counts: dict[str, int] = field(default_factory=dict)
    # (page, impact in French, rule, help text, reason) of each violation left.
    remaining: list[tuple[str, str, str, str, str]] = field(default_factory=list)


def read_audit(path: Path = AUDIT_FILE) -> AuditSummary | None:
    """The last audit's summary; None when no audit was ever written."""
    if not path.is_file():
        return None
    audit: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    pages: dict[str, list[dict[str, Any]]] = audit.get("pages", {})
    counts: Counter[str] = Counter()
    remaining = []
    for name, violations in sorted(pages.items()):
        for v in violations:
            counts[v["impact"]] += 1
            reason = EXPLAINED.get(v["regle"], "Correction prévue.")
            remaining.append(
                (name, IMPACTS.get(v["impact"], v["impact"]), v["regle"], v["aide"], reason)
            )
    return AuditSummary(
        audited_on=str(audit.get("audite_le", "")),
        engine=str(audit.get("outil", "axe-core")),
        pages=sorted(name for name in pages if not name.startswith(EMAIL_PREFIX)),
        emails=sum(1 for name in pages if name.startswith(EMAIL_PREFIX)),
        counts={french: counts[impact] for impact, french in IMPACTS.items()},
        remaining=remaining,
    )


@router.get("/accessibilite")
def accessibility_statement(visit: VisitDep) -> Response:
    return visit.render("accessibilite.html", audit=read_audit())
