"""Slows password guessing down at the console's sign-in.

Passwords are stored as slow hashes, but nothing stopped a script from trying a coordinator's
password all night. After ``max_failures`` failed sign-ins for one username, or four times as
many from one address, within ``window``, further attempts are refused (HTTP 429, audited)
until the oldest failure leaves the window; a successful sign-in clears that username's count.
The counts live in the console's memory: a restart forgets them, and several consoles behind a
load balancer would each count on their own (acceptable for the one console Lawlink runs).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

_MAX_KEYS = 10_000  # beyond this many tracked names/addresses, expired ones are swept at once


class LoginThrottle:
    """Failed sign-ins per username and per client address, over a sliding window."""

    def __init__(
        self, max_failures: int, window_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limits = {"user": max_failures, "ip": 4 * max_failures}
        self._window = window_seconds
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}

    def retry_after(self, username: str, ip: str) -> float | None:
        """Seconds until this username and address may try again; None if they may now."""
        now = self._clock()
        waits = []
        for key in self._keys(username, ip):
            times = self._recent(key, now)
            if len(times) >= self._limits[key[0]]:
                waits.append(times[0] + self._window - now)
        return max(waits) if waits else None

    def failed(self, username: str, ip: str) -> None:
        """Count a failed sign-in against the username and the address."""
        now = self._clock()
        if len(self._failures) > _MAX_KEYS:
            for key in list(self._failures):
                self._recent(key, now)
        for key in self._keys(username, ip):
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, username: str) -> None:
        """The right password ends the username's run of failures."""
        self._failures.pop(("user", username.casefold()), None)

    def _keys(self, username: str, ip: str) -> tuple[tuple[str, str], ...]:
        return (("user", username.casefold()), ("ip", ip))

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self._window:
            times.popleft()
        if not times:
            self._failures.pop(key, None)
        return times
