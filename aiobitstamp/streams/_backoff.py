"""How long to wait before reconnecting: a small pure policy with its own random source."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["Backoff"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Capped exponential backoff with "equal jitter": attempt ``n`` (from 1) waits between
    half and all of ``min(maximum, initial * factor**(n-1))``. Half is fixed so a crowd of
    clients dropped together never retries in a tight loop; half is random so they spread.

    >>> policy = Backoff(initial=0.1, maximum=2.0, rng=random.Random(7))
    >>> 0.05 <= policy.delay(1) <= 0.1
    True
    """

    initial: float = 0.1
    maximum: float = 10.0
    factor: float = 2.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.initial <= self.maximum:
            raise ValueError("need 0 <= initial <= maximum")
        if self.factor < 1:
            raise ValueError("factor must be at least 1")

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt + 1`` after ``attempt`` failures."""
        exponent = min(max(attempt - 1, 0), 64)  # large enough to hit the cap, no overflow
        ceiling = min(self.maximum, self.initial * self.factor**exponent)
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)
