"""No request body longer than the cap reaches the app; the refusal is the app's own 413."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from bridge.api.body_limit import BodyLimit

LIMIT = 1024


def app() -> tuple[FastAPI, list[int]]:
    read: list[int] = []
    made = FastAPI()
    made.add_middleware(BodyLimit, limit=LIMIT)

    @made.post("/televersement")
    async def upload(request: Request) -> dict[str, int]:
        body = await request.body()
        read.append(len(body))
        return {"octets": len(body)}

    return made, read


def test_a_body_within_the_cap_is_read_whole() -> None:
    made, read = app()
    answer = TestClient(made).post("/televersement", content=b"x" * LIMIT)
    assert answer.status_code == 200
    assert read == [LIMIT]


def test_a_declared_length_over_the_cap_is_refused_before_any_read() -> None:
    made, read = app()
    answer = TestClient(made).post("/televersement", content=b"x" * (LIMIT + 1))
    assert answer.status_code == 413
    assert "La requête dépasse" in answer.json()["detail"]
    assert read == []


def test_a_chunked_body_is_cut_at_the_cap() -> None:
    """No Content-Length: the body is counted as it comes and refused once past the cap."""
    made, read = app()

    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"y" * 300

    answer = TestClient(made).post("/televersement", content=chunks())
    assert answer.status_code == 413
    assert read == []
