"""Strict sliding-window request counters, the way a server-side limit sees a client.

Bitstamp publishes two limits that hold at once: 400 requests per second and 10,000 per
10 minutes. The emulator enforces each ``(count, seconds)`` pair as a true sliding window
over request *arrivals*: a request is rejected when any window already holds ``count``
accepted arrivals within the last ``seconds``. Rejected requests do not occupy a window, so
a client that backs off is not punished twice.

Each window is a deque of arrival times, so a check costs O(1) amortised: every arrival is
appended once and popped once. The clock is injected, which lets tests drive the window
without sleeping.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Sequence

__all__ = ["SlidingWindowLimiter"]


class SlidingWindowLimiter:
    """Admit or reject arrivals per scope (a client IP or an API key) against all windows.

    >>> now = [0.0]
    >>> limiter = SlidingWindowLimiter([(2, 1.0)], clock=lambda: now[0])
    >>> [limiter.try_acquire("ip") for _ in range(3)]
    [True, True, False]
    >>> now[0] = 1.0
    >>> limiter.try_acquire("ip")
    True
    """

    __slots__ = ("_clock", "_limits", "_scopes")

    def __init__(self, limits: Sequence[tuple[int, float]], clock: Callable[[], float]) -> None:
        for count, seconds in limits:
            if count < 1 or seconds <= 0:
                raise ValueError(
                    f"a rate limit needs count >= 1 and seconds > 0, got {(count, seconds)}"
                )
        self._limits = tuple((int(count), float(seconds)) for count, seconds in limits)
        self._clock = clock
        self._scopes: dict[Hashable, tuple[deque[float], ...]] = {}

    @property
    def limits(self) -> tuple[tuple[int, float], ...]:
        """The ``(count, seconds)`` windows, all enforced at once."""
        return self._limits

    def try_acquire(self, scope: Hashable) -> bool:
        """Record an arrival for ``scope`` if every window has room; False means reject."""
        now = self._clock()
        windows = self._scopes.get(scope)
        if windows is None:
            windows = self._scopes[scope] = tuple(deque() for _ in self._limits)
        admitted = True
        for (count, seconds), arrivals in zip(self._limits, windows, strict=True):
            # An arrival exactly `seconds` old has left the window.
            horizon = now - seconds
            while arrivals and arrivals[0] <= horizon:
                arrivals.popleft()
            if len(arrivals) >= count:
                admitted = False
        if admitted:
            for arrivals in windows:
                arrivals.append(now)
        return admitted
