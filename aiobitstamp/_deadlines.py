"""The total timeout of every request of a transport, kept with one timer.

aiohttp's own total timeout arms a timer for each request and cancels it when the answer
is in. On a loopback benchmark that costs about 10 µs of CPU per request, a third of this
client's whole overhead over a bare aiohttp call (``python -m benchmarks cpu``). Every
request of one transport has the same timeout, so deadlines fall in the order requests
start. A queue of deadlines and one timer, armed at the oldest one still running, do the
same job. The timer then fires about once per timeout period, however many requests pass.

A request past its deadline is ended the way aiohttp ends it: its task is cancelled, and
the transport turns that cancellation into ``RequestTimeoutError``. ``Task.uncancel``
(Python 3.11+) tells this cancellation apart from anyone else's; on 3.10 the transport
leaves the total timeout to aiohttp (``SUPPORTED``).
"""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["SUPPORTED", "Deadline", "Deadlines"]

SUPPORTED = hasattr(asyncio.Task, "uncancel")


class Deadline:
    """One request's deadline. The transport marks it ``finished`` on the way out;
    ``expired`` says its task was cancelled for running past it."""

    __slots__ = ("at", "expired", "finished", "task")

    def __init__(self, at: float, task: asyncio.Task[object]) -> None:
        self.at = at
        self.task = task
        self.finished = False
        self.expired = False


class Deadlines:
    """The deadlines of the requests running on one event loop, oldest first."""

    __slots__ = ("_loop", "_running", "_seconds", "_timer")

    def __init__(self, loop: asyncio.AbstractEventLoop, seconds: float) -> None:
        self._loop = loop
        self._seconds = seconds
        self._running: deque[Deadline] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def start(self, task: asyncio.Task[object]) -> Deadline:
        """Start ``task``'s clock; mark the result ``finished`` when its request ends."""
        deadline = Deadline(self._loop.time() + self._seconds, task)
        running = self._running
        while running and running[0].finished:  # answered ones ahead: forget them now
            running.popleft()
        running.append(deadline)
        if self._timer is None:
            self._timer = self._loop.call_at(deadline.at, self._expire)
        return deadline

    def _expire(self) -> None:
        """End every request past its deadline; arm the timer for the next one."""
        self._timer = None
        now = self._loop.time()
        running = self._running
        while running:
            deadline = running[0]
            if not deadline.finished:
                if deadline.at > now:
                    self._timer = self._loop.call_at(deadline.at, self._expire)
                    return
                deadline.expired = True
                deadline.task.cancel()
            running.popleft()

    def close(self) -> None:
        """Stop the timer (the transport is closing; its requests end on their own)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._running.clear()
