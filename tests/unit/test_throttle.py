"""The per-address cap of « Recevoir un nouveau lien » (bridge/api/throttle.py)."""

from __future__ import annotations

from bridge.api.throttle import Throttle, origin_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_origin_gets_its_quota_then_waits_for_the_window_to_slide() -> None:
    clock = Clock()
    throttle = Throttle(3, 60, clock)
    assert [throttle.allow("192.0.2.1") for _ in range(4)] == [True, True, True, False]
    assert throttle.allow("192.0.2.2")  # another address has its own quota
    clock.now += 59
    assert not throttle.allow("192.0.2.1")
    clock.now += 2  # the first three attempts are older than the window now
    assert throttle.allow("192.0.2.1")


def test_refused_attempts_do_not_extend_the_wait() -> None:
    clock = Clock()
    throttle = Throttle(1, 60, clock)
    assert throttle.allow("a")
    for _ in range(10):
        clock.now += 5
        assert not throttle.allow("a")
    clock.now += 11
    assert throttle.allow("a")


def test_memory_is_bounded_by_forgetting_the_oldest_origins() -> None:
    throttle = Throttle(1, 60, Clock(), capacity=2)
    for origin in ("a", "b", "c"):
        assert throttle.allow(origin)
    assert throttle.allow("a")  # forgotten, hence a fresh quota
    assert not throttle.allow("c")


def test_an_ipv6_visitor_is_counted_by_its_slash_64() -> None:
    assert origin_key("2001:db8:1:2:aaaa::1") == origin_key("2001:db8:1:2:bbbb::9")
    assert origin_key("2001:db8:1:2::1") != origin_key("2001:db8:1:3::1")
    assert origin_key("192.0.2.7") == "192.0.2.7"
    assert origin_key(None) == "inconnue"
