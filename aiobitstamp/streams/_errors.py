"""Errors of the stream client, on aiobitstamp's one error tree.

::

    BitstampError
    └── StreamLaggingError     a subscriber fell too far behind its lossless channels

Everything else a stream raises is an existing class: ``ClientClosedError`` once the
client (or hub) is closed, ``AuthenticationError`` (code ``"4009"``) when the exchange
refuses a private channel, ``BadRequestError`` for a channel it calls invalid,
``InvalidParameterError`` for a channel name refused before sending.
"""

from __future__ import annotations

from .._exceptions import BitstampError

__all__ = ["StreamLaggingError"]


class StreamLaggingError(BitstampError):
    """A subscriber's bounded buffer of lossless events (trades, orders, diffs, private
    channels) was full, so the stream stopped rather than drop an event silently.

    Every event received before the overflow was delivered first; ``last_microtimestamp``
    is the time of the last one per channel, so a trade collector can refill the hole
    from REST (``transactions/``) and subscribe again. ``capacity`` is the buffer size
    that was exceeded (``buffer_size`` of the stream).
    """

    def __init__(
        self,
        message: str,
        *,
        channel: str,
        capacity: int,
        last_microtimestamp: dict[str, int] | None = None,
    ) -> None:
        super().__init__(message)
        self.channel = channel
        self.capacity = capacity
        self.last_microtimestamp = dict(last_microtimestamp or {})
