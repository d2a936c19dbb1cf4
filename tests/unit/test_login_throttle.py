"""Password guessing at the console's sign-in is slowed down (services/console/throttle.py)."""

from __future__ import annotations

from services.console.throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_username_waits_after_max_failures_until_the_oldest_leaves_the_window() -> None:
    clock = Clock()
    throttle = LoginThrottle(max_failures=3, window_seconds=60, clock=clock)
    for _ in range(2):
        throttle.failed("Coord", "10.0.0.1")
        clock.now += 10
    assert throttle.retry_after("coord", "10.0.0.2") is None
    throttle.failed("coord", "10.0.0.3")
    # The name counts whatever its case and whichever address tries it.
    assert throttle.retry_after("COORD", "10.0.0.9") == 40
    assert throttle.retry_after("oper", "10.0.0.9") is None
    clock.now += 40
    assert throttle.retry_after("coord", "10.0.0.9") is None


def test_one_address_trying_many_names_waits_too() -> None:
    clock = Clock()
    throttle = LoginThrottle(max_failures=2, window_seconds=60, clock=clock)
    for n in range(8):
        throttle.failed(f"user{n}", "10.0.0.1")
    assert throttle.retry_after("someone-else", "10.0.0.1") == 60
    assert throttle.retry_after("someone-else", "10.0.0.2") is None


def test_the_right_password_clears_the_names_failures() -> None:
    throttle = LoginThrottle(max_failures=2, window_seconds=60, clock=Clock())
    throttle.failed("coord", "10.0.0.1")
    throttle.succeeded("Coord")
    throttle.failed("coord", "10.0.0.1")
    assert throttle.retry_after("coord", "10.0.0.1") is None
