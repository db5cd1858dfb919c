"""A test that leaves a database connection open fails itself (pytest plugin, tests/conftest.py).

A connection dropped while still open is only seen when the garbage collector frees it
(psycopg then warns, and `filterwarnings = error` makes the warning an error): maybe in a
later test, maybe at the very end of the session, where no test owns it. So after each test's
teardown (its fixtures, and those of wider scope that end with it), the garbage is collected:
pytest reports the warning as an error in the teardown of the test that leaked.

The report says where the connection was opened: every connection a SQLAlchemy pool opens is
remembered with the call stack that opened it. (tracemalloc cannot say it on Python 3.11: it
finds no allocation for instances of ordinary classes such as psycopg's connection.)
"""

from __future__ import annotations

import gc
import sys
import sysconfig
import traceback
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import fastapi.dependencies.models
import pytest
from sqlalchemy import event
from sqlalchemy.pool import ConnectionPoolEntry, Pool

# Frames of the standard library and installed packages are left out of the opening stack.
_LIBRARY_PATHS = tuple(
    str(Path(sysconfig.get_paths()[name]).resolve()) for name in ("stdlib", "purelib", "platlib")
)


def forget_fastapi_endpoints() -> None:
    """Empty FastAPI's memos about endpoint functions (pure caches, refilled on demand).

    They hold up to 4,096 endpoints of every app ever built, and through their closures what
    those apps hold (the store's engine): an app built and dropped by a test would be freed
    only when later apps push it out, so its leak would be found in some later test.
    """
    for value in vars(fastapi.dependencies.models).values():
        cache_clear = getattr(value, "cache_clear", None)
        if callable(cache_clear):
            cache_clear()


def collect_garbage() -> None:
    forget_fastapi_endpoints()
    gc.collect()


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """After the test's teardown, before pytest's own trylast hook reports what was raised."""
    if isinstance(item, pytest.Function):
        item.funcargs.clear()  # pytest drops them after this phase; the values are torn down
    collect_garbage()


class OpenedConnections:
    """The call stack that opened each live connection of a SQLAlchemy pool, by identity.

    Keyed by `id()`, with a weak reference to tell a live entry from a stale one: the garbage
    collector clears weak references before it runs `__del__`, so a weak-keyed mapping would
    have forgotten the connection by the time its finalizer complains about it.
    """

    def __init__(self) -> None:
        self._stacks: dict[int, tuple[weakref.ref[Any], str]] = {}

    def remember(self, dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        self._stacks = {key: entry for key, entry in self._stacks.items() if entry[0]() is not None}
        frames = [
            frame
            for frame in traceback.extract_stack()[:-1]
            if not frame.filename.startswith(_LIBRARY_PATHS) and not frame.filename.startswith("<")
        ]
        self._stacks[id(dbapi_connection)] = (
            weakref.ref(dbapi_connection),
            "".join(traceback.format_list(frames)),
        )

    def stack_of(self, connection: object) -> str | None:
        entry = self._stacks.get(id(connection))
        return None if entry is None else entry[1]


OPENED = OpenedConnections()


@dataclass(frozen=True)
class _Unraisable:
    exc_type: type[BaseException]
    exc_value: BaseException | None
    exc_traceback: TracebackType | None
    err_msg: str | None
    object: object


def finalized_object(trace: TracebackType | None) -> object | None:
    """The object whose `__del__` raised, from the innermost such frame of the traceback."""
    found = None
    while trace is not None:
        frame = trace.tb_frame
        if frame.f_code.co_name == "__del__" and "self" in frame.f_locals:
            found = frame.f_locals["self"]
        trace = trace.tb_next
    return found


def naming_the_opener(report: Callable[[Any], object]) -> Callable[[sys.UnraisableHookArgs], None]:
    """An unraisable hook that tells `report` which object's finalizer raised, and for a
    connection of a SQLAlchemy pool, where it was opened."""

    def hook(unraisable: sys.UnraisableHookArgs) -> None:
        finalized = finalized_object(unraisable.exc_traceback)
        if finalized is None:
            report(unraisable)
            return
        stack = OPENED.stack_of(finalized)
        where = "" if stack is None else f"Connexion jamais fermée, ouverte ici :\n{stack}"
        report(
            _Unraisable(
                unraisable.exc_type,
                unraisable.exc_value,
                unraisable.exc_traceback,
                f"{where}Exception ignorée à la destruction de",
                finalized,
            )
        )

    return hook


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Wrap pytest's unraisable hook (installed by its own `pytest_configure`, which ran first;
    pytest puts the original hook back at the end of the session)."""
    sys.unraisablehook = naming_the_opener(sys.unraisablehook)
    event.listen(Pool, "connect", OPENED.remember)


def pytest_unconfigure(config: pytest.Config) -> None:
    event.remove(Pool, "connect", OPENED.remember)
