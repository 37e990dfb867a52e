"""When to send a failed request again, and how long to wait first. Pure policy, no I/O."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ._exceptions import (
    BitstampError,
    ExchangeUnavailableError,
    RateLimitError,
    TransportError,
)

__all__ = ["RetryPolicy"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retry what cannot duplicate anything, with capped exponential backoff and full jitter.

    A request is retried when the error says the exchange certainly did not act on it
    (``retry_safe``: a rate rejection, a refused connection, maintenance), or when the
    request is a read, which is harmless to repeat. Orders are never resent after an
    ambiguous failure (a timeout, a 500): the caller must find out what happened first.

    ``rng`` is injectable so tests can pin the jitter.
    """

    max_attempts: int = 4
    base_delay: float = 0.05
    max_delay: float = 5.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < self.base_delay:
            raise ValueError("need 0 <= base_delay <= max_delay")

    def should_retry(self, error: BitstampError, attempt: int, *, idempotent: bool) -> bool:
        """``attempt`` counts from 1 for the attempt that just failed."""
        if attempt >= self.max_attempts:
            return False
        if error.retry_safe:
            return True
        return idempotent and isinstance(error, (TransportError, ExchangeUnavailableError))

    def delay(self, error: BitstampError, attempt: int) -> float:
        """Seconds to wait before the next attempt; honours the exchange's Retry-After."""
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            return error.retry_after
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return self.rng.uniform(0, ceiling)
