"""Where a py-spy flame graph's time goes, by kind of work (the reading of `docs/performance/`).

    .venv/bin/python -m bench.flames docs/performance/avant-*.svg

Each sample's own time (a frame's width less its callees') goes to the innermost frame of
its stack that names a kind of work below: the token's verification, the ended-session
lookup, the thread pool's hand-overs, the JSON logs… Waiting (a worker thread with nothing
to do, the event loop in `select`) is left out: the shares are of the samples at work.
Under a loaded machine, a thread waiting for the GIL counts as at work, so the shares, not
the absolute figures, are what to read.
"""

from __future__ import annotations

import argparse
import bisect
import html
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_FRAME = re.compile(
    r'<title>(.*?) \(([\d,]+) samples, [\d.]+%\)</title><rect x="[\d.]+%" y="(\d+)"'
    r'[^>]*fg:x="(\d+)" fg:w="(\d+)"'
)
_TOTAL = re.compile(r"<title>all \(([\d,]+) samples")
IDLE = "en attente"
# (kind, pattern on « function (file:line) »): the innermost frame that matches decides.
KINDS = [
    (
        IDLE,
        r"^(Condition\.wait|Event\.wait|EpollSelector\.select|Queue\.get|Thread\.join|sleep|"
        r"Lock\.acquire)",
    ),
    ("journaux JSON (logging)", r"(Logger\.|JsonFormatter|Handler\.|logging/__init__)"),
    ("vérification du jeton (signature, claims)", r"(TokenVerifier\._checked|joserfc)"),
    ("session terminée (lecture)", r"EndedSessions\.is_ended"),
    ("compte désactivé (lecture)", r"AppContext\.is_disabled"),
    ("session terminée et compte désactivé (une lecture)", r"refuse_ended_or_disabled"),
    # `BpfService.stored`: the floor's read when the `tour3-*` graphs were taken.
    (
        "lecture du BPF sans droit (route plancher du banc)",
        r"(no_authorization|BpfService\.stored)",
    ),
    (
        "droit et lecture métier (may_act, BPF, lots)",
        r"(may_act|BpfService|check_many|_held_roles|VerificationService|explain|_decide)",
    ),
    (
        "unité de travail (session, commit)",
        r"(unit_of_work|reads_only|AppContext\.work|AppContext\.reads|open_services)",
    ),
    (
        "validation et sérialisation (pydantic, JSON)",
        r"(serialize_response|pydantic|jsonable_encoder|json/|JSONResponse|BpfOut\.of|"
        r"_validate_value_with_model_field|Request\.json|Request\.body)",
    ),
    (
        "pool de threads (aller et retour)",
        r"(run_in_threadpool|run_sync_in_worker_thread|to_thread|Queue\.put|Condition\.notify|"
        r"call_soon_threadsafe|_write_to_self|WorkerThread|concurrent/futures)",
    ),
    ("introspection Keycloak (HTTP)", r"(httpx|httpcore|introspected)"),
    (
        "boucles de fond (projection, courriels, échéances)",
        r"(ProjectionLoop|MailQueue|end_dates_every|Projector)",
    ),
    (
        "dépendances FastAPI",
        r"(solve_dependencies|bearer_principal|calling_demarche|demarche_client|api_actor|"
        r"bounded_body|app_context|_remember|checked_reads|_believed)",
    ),
    (
        "intergiciels et routage (Starlette, FastAPI)",
        r"(starlette/|fastapi/|SecurityHeaders|ServerSideSessions|ForwardedFor)",
    ),
    (
        "serveur HTTP (uvicorn, h11 ou httptools, boucle)",
        r"(uvicorn/|h11|httptools|asyncio/|uvloop|selector_events)",
    ),
]
_COMPILED = [(kind, re.compile(pattern)) for kind, pattern in KINDS]


@dataclass(frozen=True)
class Frame:
    x: int
    width: int
    name: str


def kind_of(stack: Sequence[str]) -> str:
    for name in reversed(stack):  # innermost first
        for kind, pattern in _COMPILED:
            if pattern.search(name):
                return kind
    return "autre"


def shares(svg: Path) -> tuple[int, Counter[str]]:
    """The graph's samples, and each kind's own samples."""
    text = svg.read_text(encoding="utf-8")
    found = _TOTAL.search(text)
    total = int(found.group(1).replace(",", "")) if found else 0
    by_y: dict[int, list[Frame]] = defaultdict(list)
    for name, _, y, x, width in _FRAME.findall(text):
        name = html.unescape(name)
        if name != "all" and not name.startswith("process "):
            by_y[int(y)].append(Frame(int(x), int(width), name))
    if not by_y:
        return total, Counter()
    ys = sorted(by_y)
    # The roots are the widest row: the graph may be drawn either way up.
    widest = max(ys, key=lambda y: sum(f.width for f in by_y[y]))
    levels = [sorted(by_y[y], key=lambda f: f.x) for y in (ys if widest == ys[0] else ys[::-1])]
    starts = [[f.x for f in level] for level in levels]
    own: Counter[str] = Counter()
    for depth, level in enumerate(levels):
        below = levels[depth + 1] if depth + 1 < len(levels) else []
        for frame in level:
            callees = sum(
                c.width for c in below if frame.x <= c.x and c.x + c.width <= frame.x + frame.width
            )
            if frame.width - callees <= 0:
                continue
            stack = []
            for up in range(depth + 1):
                i = bisect.bisect_right(starts[up], frame.x) - 1
                if i >= 0 and levels[up][i].x <= frame.x < levels[up][i].x + levels[up][i].width:
                    stack.append(levels[up][i].name)
            own[kind_of(stack)] += frame.width - callees
    return total, own


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("svg", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for svg in args.svg:
        total, own = shares(svg)
        busy = total - own[IDLE]
        print(f"{svg.name} : {total} échantillons, {busy} au travail")
        for kind, samples in own.most_common():
            if kind != IDLE and busy:
                print(f"  {100 * samples / busy:5.1f} %  {kind}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
