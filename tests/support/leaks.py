"""A test that leaves a database connection open fails itself (pytest plugin, tests/conftest.py).

A connection dropped while still open is only seen when the garbage collector frees it
(psycopg then warns; `filterwarnings = error` makes that an error): maybe in a later test,
maybe at the very end of the session, where no test owns it. So after each test's teardown
(its fixtures, and those of wider scope that end with it) the garbage is collected, and what
complains is reported as an error in the teardown of that test.

The report says where the connection was opened: every connection of a SQLAlchemy pool is
remembered with the call stack that opened it. (tracemalloc cannot say it on Python 3.11: it
finds no allocation for instances of ordinary classes such as psycopg's connection.)
"""

from __future__ import annotations

import gc
import sys
import sysconfig
import threading
import traceback
import tracemalloc
import warnings
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import fastapi.dependencies.models
import pytest
from sqlalchemy import event
from sqlalchemy.pool import ConnectionPoolEntry, Pool

# Frames of the standard library and of installed packages are left out of an opening stack.
_LIBRARY_PATHS = tuple(
    str(Path(sysconfig.get_paths()[name]).resolve()) for name in ("stdlib", "purelib", "platlib")
)


class OpenedConnections:
    """The call stack that opened each live connection of a SQLAlchemy pool, by identity.

    Keyed by `id()`, with a weak reference to tell a live entry from a stale one: the garbage
    collector clears weak references before it runs `__del__`, so a weak-keyed mapping would
    have forgotten the connection by the time its finalizer complains about it.
    """

    def __init__(self) -> None:
        self._stacks: dict[int, tuple[weakref.ref[Any], str]] = {}
        self._lock = threading.Lock()

    def remember(self, dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        try:
            alive = weakref.ref(dbapi_connection)
        except TypeError:  # sqlite3's: it says nothing when dropped open (Python 3.11)
            return
        frames = [
            frame
            for frame in traceback.extract_stack()[:-1]
            if not frame.filename.startswith((*_LIBRARY_PATHS, "<"))
        ]
        entry = (alive, "".join(traceback.format_list(frames)))
        with self._lock:
            self._stacks = {k: v for k, v in self._stacks.items() if v[0]() is not None}
            self._stacks[id(dbapi_connection)] = entry

    def stack_of(self, connection: object) -> str | None:
        entry = self._stacks.get(id(connection))
        return None if entry is None else entry[1]


OPENED = OpenedConnections()


def finalized_object(trace: TracebackType | None) -> object | None:
    """The object whose `__del__` raised, from the innermost such frame of the traceback."""
    found = None
    while trace is not None:
        frame = trace.tb_frame
        if frame.f_code.co_name == "__del__" and "self" in frame.f_locals:
            found = frame.f_locals["self"]
        trace = trace.tb_next
    return found


def origin_of(culprit: object) -> str:
    """Where `culprit` came from: the opening stack of a connection, else its allocation."""
    stack = OPENED.stack_of(culprit)
    if stack is not None:
        return f"Connexion jamais fermée, ouverte ici :\n{stack}"
    allocation = tracemalloc.get_object_traceback(culprit)
    if allocation is not None:
        return "Objet alloué ici :\n" + "\n".join(allocation.format()) + "\n"
    return ""


def describe(unraisable: sys.UnraisableHookArgs) -> str:
    finalized = finalized_object(unraisable.exc_traceback)
    culprit = unraisable.object if finalized is None else finalized
    return "".join(
        [
            origin_of(culprit),
            f"{unraisable.err_msg or 'Exception ignored in'}: {culprit!r}\n",
            *traceback.format_exception(
                unraisable.exc_type, unraisable.exc_value, unraisable.exc_traceback
            ),
        ]
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


def garbage_complaints() -> list[str]:
    """Collect the garbage made since the last call; what its finalizers raised (a connection
    left open), described.

    What survives is then frozen (`gc.freeze`): the next call looks only at what was made
    after it, a few milliseconds instead of a whole heap's hundred. Garbage that involves
    older objects waits for the end of the session, where everything is unfrozen again.
    """
    complaints: list[str] = []
    previous = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: complaints.append(describe(unraisable))
    try:
        forget_fastapi_endpoints()
        gc.collect()
    finally:
        sys.unraisablehook = previous
    gc.freeze()
    return complaints


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    """After the whole teardown phase (pytest's own check included): what the test left."""
    __tracebackhide__ = True
    try:
        return (yield)
    finally:
        if isinstance(item, pytest.Function):
            item.funcargs.clear()  # pytest drops them after this phase; all are torn down
        complaints = garbage_complaints()
        if complaints:
            message = "\n".join(complaints)
            warnings.warn(pytest.PytestUnraisableExceptionWarning(message), stacklevel=1)


@dataclass(frozen=True)
class _Unraisable:
    exc_type: type[BaseException]
    exc_value: BaseException | None
    exc_traceback: TracebackType | None
    err_msg: str | None
    object: object


def naming_the_origin(report: Callable[[Any], object]) -> Callable[[sys.UnraisableHookArgs], None]:
    """An unraisable hook that gives `report` the object whose finalizer raised, and where it
    came from (for what the garbage collector frees at another moment than after a test)."""

    def hook(unraisable: sys.UnraisableHookArgs) -> None:
        finalized = finalized_object(unraisable.exc_traceback)
        if finalized is None:
            report(unraisable)
            return
        message = unraisable.err_msg or "Exception ignored in"
        report(
            _Unraisable(
                unraisable.exc_type,
                unraisable.exc_value,
                unraisable.exc_traceback,
                origin_of(finalized) + message,
                finalized,
            )
        )

    return hook


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Wrap pytest's unraisable hook (installed by its own `pytest_configure`, which ran first;
    pytest puts the original hook back at the end of the session)."""
    sys.unraisablehook = naming_the_origin(sys.unraisablehook)
    event.listen(Pool, "connect", OPENED.remember)


def pytest_collection_finish(session: pytest.Session) -> None:
    """The session's first check need not go through what collection made."""
    gc.collect()
    gc.freeze()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Before pytest's own last collection (this plugin registered later: it runs first)."""
    gc.unfreeze()
    event.remove(Pool, "connect", OPENED.remember)
