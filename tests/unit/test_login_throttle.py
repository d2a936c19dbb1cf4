"""Password guessing at the console's sign-in is slowed down, and nobody can lock a user out
from another address (services/console/throttle.py)."""

from __future__ import annotations

from services.console.throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _throttle(clock: Clock, **overrides: float) -> LoginThrottle:
    limits = {
        "free_failures": 2,
        "first_delay": 1.0,
        "max_delay": 8.0,
        "address_max_failures": 20,
        "window_seconds": 900.0,
    }
    return LoginThrottle(**{**limits, **overrides}, clock=clock)  # type: ignore[arg-type]


def test_waits_double_per_failure_of_one_pair_up_to_the_cap() -> None:
    clock = Clock()
    throttle = _throttle(clock)
    waits = []
    for _ in range(7):
        throttle.failed("Coord", "10.0.0.1")
        waits.append(throttle.retry_after("coord", "10.0.0.1"))
    # Two free failures, then 1, 2, 4, 8 and 8 seconds: the name counts whatever its case.
    assert waits == [None, None, 1.0, 2.0, 4.0, 8.0, 8.0]
    clock.now += 7.5
    assert throttle.retry_after("COORD", "10.0.0.1") == 0.5
    clock.now += 0.5
    assert throttle.retry_after("coord", "10.0.0.1") is None


def test_failures_from_one_address_never_delay_the_same_user_from_another() -> None:
    clock = Clock()
    throttle = _throttle(clock)
    for _ in range(10):
        throttle.failed("coord", "203.0.113.9")
    assert throttle.retry_after("coord", "203.0.113.9") == 8.0
    assert throttle.retry_after("coord", "198.51.100.20") is None
    assert throttle.retry_after("oper", "203.0.113.9") is None  # another name from the guesser's address


def test_one_address_trying_many_names_hits_its_own_limit() -> None:
    clock = Clock()
    throttle = _throttle(clock, address_max_failures=5, window_seconds=60.0)
    for n in range(5):
        throttle.failed(f"user{n}", "10.0.0.1")
        clock.now += 1
    assert throttle.retry_after("someone-else", "10.0.0.1") == 55.0  # until the oldest leaves
    assert throttle.retry_after("someone-else", "10.0.0.2") is None
    clock.now += 55
    assert throttle.retry_after("someone-else", "10.0.0.1") is None


def test_the_right_password_ends_the_pairs_run_but_not_the_addresss_count() -> None:
    clock = Clock()
    throttle = _throttle(clock, address_max_failures=4)
    for _ in range(3):
        throttle.failed("coord", "10.0.0.1")
    throttle.succeeded("Coord", "10.0.0.1")
    assert throttle.retry_after("coord", "10.0.0.1") is None
    throttle.failed("coord", "10.0.0.1")  # a fresh run: still free
    # ...but signing in to one account bought no more guesses at others from that address.
    assert throttle.retry_after("admin", "10.0.0.1") is not None


def test_a_pairs_run_is_forgotten_after_the_window() -> None:
    clock = Clock()
    throttle = _throttle(clock, window_seconds=60.0)
    for _ in range(4):
        throttle.failed("coord", "10.0.0.1")
    clock.now += 60
    throttle.failed("coord", "10.0.0.1")
    assert throttle.retry_after("coord", "10.0.0.1") is None  # counted from one again
