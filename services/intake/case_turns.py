"""One case's events handed to Temporal one at a time, lowest stream sequence first.

A case's events must reach its workflow in the order they entered the stream: a later step
that overtakes an earlier one is refused for good ("no open case", "form the team first").
Arrival at intake is not that order once an intake dies: every message it held comes back
after its own ``ack_wait``, the case's opening after its next event or between two of them.
So a case's turn goes to the waiting message that entered the stream first, however late
it arrived here.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

UNORDERED = math.inf
"""The place of a message that did not come from the stream (it waits behind those that did)."""


class CaseTurn:
    """Whose turn it is in one case: one holder; the waiters in stream order."""

    def __init__(self) -> None:
        self._held = False
        self._waiters: list[tuple[float, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    @property
    def idle(self) -> bool:
        """Nobody holds the case and nobody waits for it."""
        return not self._held and not self._waiters

    async def acquire(self, seq: float) -> None:
        """Wait until the case is this message's; among waiters the lowest ``seq`` goes first
        (equal ones in arrival order)."""
        if self.idle:
            self._held = True
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (seq, next(self._arrivals), granted)
        heapq.heappush(self._waiters, entry)
        try:
            await granted
        except BaseException:
            if granted.done() and not granted.cancelled():
                self.release()  # handed the turn just as it was cancelled: pass it on
            else:
                self._waiters.remove(entry)
                heapq.heapify(self._waiters)
            raise

    def release(self) -> None:
        """Hand the case to the lowest waiting sequence, or free it."""
        while self._waiters:
            _, _, granted = heapq.heappop(self._waiters)
            if not granted.done():
                granted.set_result(None)
                return
        self._held = False


class CaseTurns:
    """The turns of the cases that have a message in hand; a case's entry lives only while
    one of its messages holds or waits for it."""

    def __init__(self) -> None:
        self.turns: dict[str, CaseTurn] = {}

    @asynccontextmanager
    async def turn(self, key: str, seq: float = UNORDERED) -> AsyncIterator[None]:
        """Hold case ``key`` for the block, waiting behind every earlier stream sequence."""
        turn = self.turns.setdefault(key, CaseTurn())
        try:
            await turn.acquire(seq)
            try:
                yield
            finally:
                turn.release()
        finally:
            if turn.idle and self.turns.get(key) is turn:
                del self.turns[key]
