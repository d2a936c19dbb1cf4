"""Slows password guessing down at the console's sign-in without letting anyone lock a user out.

Passwords are stored as slow hashes, but nothing would stop a script from trying a
coordinator's password all night; and a limit per username alone would let anyone who knows the
coordinator's name keep them out with a few wrong passwords. So two counts, neither of which a
stranger can use against a user signing in from elsewhere:

* **Per (username, address) pair**: after ``free_failures`` failed sign-ins of one username from
  one address, each further failure makes that pair wait before its next try, the wait doubling
  from ``first_delay`` up to ``max_delay``. The right password from that address ends the run.
  Failures from address X never delay the same username signing in from address Y.
* **Per address, across usernames**: ``address_max_failures`` failures from one address within
  ``window`` make that address wait until the oldest leaves the window, so one address cannot
  try a password against every account instead.

A pair's run is forgotten ``window`` after its last failure (or once its wait is over, if longer). An attempt refused because it must
wait is not checked and does not count. The counts live in the console's memory: a restart
forgets them, and several consoles behind a load balancer would each count on their own
(acceptable for the one console Lawlink runs). The address is the one
:mod:`services.console.proxies` resolved, so a forged ``X-Forwarded-For`` cannot pick it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

_MAX_KEYS = 10_000  # beyond this many tracked pairs/addresses, expired ones are swept at once


@dataclass
class _Run:
    """One pair's failures in a row: how many, and when the last one was."""

    failures: int
    last: float


class LoginThrottle:
    """Growing waits per (username, address) and a sliding-window limit per address."""

    def __init__(
        self,
        *,
        free_failures: int,
        first_delay: float,
        max_delay: float,
        address_max_failures: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._free = free_failures
        self._first = first_delay
        self._max = max_delay
        self._address_max = address_max_failures
        self._window = window_seconds
        self._clock = clock
        self._runs: dict[tuple[str, str], _Run] = {}
        self._by_address: dict[str, deque[float]] = {}

    def delay_after(self, failures: int) -> float:
        """The wait a pair owes after ``failures`` failures in a row (0 while still free)."""
        over = failures - self._free
        if over <= 0:
            return 0.0
        return min(self._first * 2 ** (over - 1), self._max)

    def retry_after(self, username: str, ip: str) -> float | None:
        """Seconds until this username may try again from this address; None if it may now."""
        now = self._clock()
        waits: list[float] = []
        run = self._run(self._pair(username, ip), now)
        if run is not None:
            wait = run.last + self.delay_after(run.failures) - now
            if wait > 0:
                waits.append(wait)
        times = self._recent(ip, now)
        if len(times) >= self._address_max:
            waits.append(times[0] + self._window - now)
        return max(waits) if waits else None

    def failed(self, username: str, ip: str) -> None:
        """Count a failed sign-in against the pair and the address."""
        now = self._clock()
        if len(self._runs) + len(self._by_address) > _MAX_KEYS:
            self._sweep(now)
        key = self._pair(username, ip)
        run = self._run(key, now)
        self._runs[key] = _Run(failures=(run.failures if run else 0) + 1, last=now)
        self._by_address.setdefault(ip, deque()).append(now)

    def succeeded(self, username: str, ip: str) -> None:
        """The right password ends this pair's run (the address's count stays: signing in to
        one's own account must not buy more guesses at others)."""
        self._runs.pop(self._pair(username, ip), None)

    @staticmethod
    def _pair(username: str, ip: str) -> tuple[str, str]:
        return (username.casefold(), ip)

    def _run(self, key: tuple[str, str], now: float) -> _Run | None:
        run = self._runs.get(key)
        if run is not None and run.last + max(self._window, self.delay_after(run.failures)) <= now:
            del self._runs[key]
            return None
        return run

    def _recent(self, ip: str, now: float) -> deque[float]:
        times = self._by_address.get(ip, deque())
        while times and times[0] <= now - self._window:
            times.popleft()
        if not times:
            self._by_address.pop(ip, None)
        return times

    def _sweep(self, now: float) -> None:
        for key in list(self._runs):
            self._run(key, now)
        for ip in list(self._by_address):
            self._recent(ip, now)
