"""What to do after a failed attempt: retry, re-sign, or raise. Pure policy, no I/O.

The request pipeline asks ``RetryPolicy.decide(error, repeat, attempt, ...)`` after every
failure and does what the answer says. The rules:

* A request the exchange **certainly did not act on** may always be sent again: a refused
  connection, a rate rejection (400.002 / HTTP 429), an auth-layer rejection of the nonce or
  timestamp, the exchange's own maintenance answer. ``proven_not_executed`` is the one place
  that decides this; a bare 5xx or an HTML page from a proxy proves nothing.
* A clock-skew rejection (API0017) is re-signed once with a corrected clock.
* After an **ambiguous** failure (a timeout, a reset, a 5xx, an unreadable answer, an
  answer whose signature fails when it is checked) only reads and cancels are repeated;
  orders are reconciled by ``client_order_id`` (see ``_api/orders.py``) and every other
  write is raised as it is: its outcome is unknown.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field

from ._exceptions import (
    BitstampError,
    ExchangeUnavailableError,
    InvalidNonceError,
    RateLimitError,
    RequestTimeoutError,
    ResponseSignatureError,
    TimestampOutOfBoundsError,
    TransportError,
    UnexpectedResponseError,
)
from ._routes import Repeat

__all__ = ["Action", "Decision", "RetryPolicy", "is_ambiguous", "proven_not_executed"]

# The exchange's own maintenance answer comes from its front door: nothing was executed.
_MAINTENANCE = "under scheduled maintenance"


class Action(enum.Enum):
    RETRY = "retry"
    RESIGN = "resign"  # correct the clock from the answer's Date, then retry at once
    RAISE = "raise"


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    delay: float = 0.0


_RAISE = Decision(Action.RAISE)
_RESIGN = Decision(Action.RESIGN)


def proven_not_executed(error: BitstampError) -> bool:
    """True only when the answer proves the exchange did not act on the request."""
    if isinstance(error, RateLimitError | InvalidNonceError | TimestampOutOfBoundsError):
        return True
    if isinstance(error, RequestTimeoutError):
        return False
    if isinstance(error, TransportError):
        # Set only where the connection never opened (connect refused, DNS failure).
        return error.retry_safe
    if isinstance(error, ExchangeUnavailableError) and error.code is None:
        # A JSON maintenance notice from the exchange itself, not any 5xx from anywhere.
        return error.reason is not None and _MAINTENANCE in error.reason
    return False


def is_ambiguous(error: BitstampError) -> bool:
    """True when the request may or may not have executed."""
    if proven_not_executed(error):
        return False
    if isinstance(error, TransportError | ExchangeUnavailableError | ResponseSignatureError):
        # A signature that fails means the answer cannot be trusted to say what happened.
        return True
    # An unreadable answer (an HTML 5xx page, a truncated body) says nothing about the
    # request; only a readable 2xx with a wrong shape proves it executed.
    return isinstance(error, UnexpectedResponseError) and (error.status or 0) >= 500


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retry what cannot duplicate anything, with capped exponential backoff and full jitter.

    ``max_attempts`` bounds every request, reads included. ``rng`` is injectable so tests
    can pin the jitter.
    """

    max_attempts: int = 4
    base_delay: float = 0.05
    max_delay: float = 5.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int):
            raise ValueError("max_attempts must be an int")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < self.base_delay:
            raise ValueError("need 0 <= base_delay <= max_delay")

    def decide(
        self,
        error: BitstampError,
        repeat: Repeat,
        attempt: int,
        *,
        clock_corrected: bool,
    ) -> Decision:
        """What to do after attempt number ``attempt`` (from 1) failed with ``error``.

        A rate rejection is retried without a delay of its own: the limiter's pause, which
        every coroutine sharing it obeys, does the waiting.
        """
        if isinstance(error, TimestampOutOfBoundsError) and not clock_corrected:
            return _RESIGN
        if attempt >= self.max_attempts:
            return _RAISE
        if isinstance(error, RateLimitError):
            return Decision(Action.RETRY)
        if proven_not_executed(error):
            return Decision(Action.RETRY, self.backoff(attempt))
        if repeat in (Repeat.READ, Repeat.CANCEL) and is_ambiguous(error):
            return Decision(Action.RETRY, self.backoff(attempt))
        return _RAISE

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff before attempt ``attempt + 1``."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return self.rng.uniform(0, ceiling)
