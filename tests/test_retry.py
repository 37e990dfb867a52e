"""RetryPolicy: what may be resent, and how long to wait first."""

from __future__ import annotations

import random

import pytest

from aiobitstamp import (
    AuthenticationError,
    BitstampError,
    ExchangeUnavailableError,
    InvalidNonceError,
    RateLimitError,
    RequestTimeoutError,
    ResponseSignatureError,
    RetryPolicy,
    TransportError,
)
from aiobitstamp._retry import Action, is_ambiguous
from aiobitstamp._routes import Repeat


@pytest.mark.parametrize(
    ("error", "idempotent", "expected"),
    [
        (RateLimitError("rate"), False, True),  # never executed: safe even for orders
        (InvalidNonceError("nonce", retry_safe=True), False, True),
        (TransportError("refused", retry_safe=True), False, True),
        (RequestTimeoutError("timeout"), True, True),  # a read may be repeated
        (RequestTimeoutError("timeout"), False, False),  # an order may have executed
        (ExchangeUnavailableError("500"), True, True),
        (ExchangeUnavailableError("500"), False, False),
        # The exchange's own maintenance answer proves nothing was executed ...
        (
            ExchangeUnavailableError(
                "m", reason="Bitstamp.net is under scheduled maintenance. We'll be back soon."
            ),
            False,
            True,
        ),
        # ... but a 503 from anywhere else (a proxy) proves nothing, whatever it claims.
        (ExchangeUnavailableError("503", status=503, retry_safe=True), False, False),
        (AuthenticationError("bad key"), True, False),  # retrying will not help
        # An answer whose signature fails says nothing trustworthy: it may have executed.
        (ResponseSignatureError("altered", status=200), True, True),
        (ResponseSignatureError("altered", status=200), False, False),
    ],
)
def test_what_is_resent(error: BitstampError, idempotent: bool, expected: bool) -> None:
    policy = RetryPolicy(max_attempts=3)
    repeat = Repeat.READ if idempotent else Repeat.ONCE

    def resent(attempt: int) -> bool:
        decision = policy.decide(error, repeat, attempt, clock_corrected=True)
        return decision.action is Action.RETRY

    assert resent(1) is expected
    assert resent(3) is False  # the last attempt is final


def test_backoff_is_capped_full_jitter() -> None:
    policy = RetryPolicy(base_delay=0.1, max_delay=1.0, rng=random.Random(42))
    error = TransportError("x", retry_safe=True)
    for attempt, ceiling in ((1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (9, 1.0)):
        delays = [policy.backoff(attempt) for _ in range(200)]
        assert min(delays) >= 0 and max(delays) <= ceiling
        assert max(delays) > ceiling * 0.8  # the jitter spans the whole range
    again = RetryPolicy(base_delay=0.1, max_delay=1.0, rng=random.Random(42))
    first = RetryPolicy(base_delay=0.1, max_delay=1.0, rng=random.Random(42))
    assert [again.backoff(3) for _ in range(5)] == [first.backoff(3) for _ in range(5)]
    # decide() waits exactly that backoff before resending what is safe to resend.
    decision = RetryPolicy(rng=random.Random(7)).decide(error, Repeat.READ, 2, clock_corrected=True)
    assert decision.delay == RetryPolicy(rng=random.Random(7)).backoff(2)


def test_a_rate_rejection_is_resent_without_a_wait_of_its_own() -> None:
    """The limiter's pause (Retry-After in full, shared by every caller) does the waiting;
    a backoff here on top would wait twice."""
    policy = RetryPolicy(max_delay=1.0)
    decision = policy.decide(
        RateLimitError("rate", retry_after=7.5), Repeat.ONCE, 1, clock_corrected=False
    )
    assert decision.action is Action.RETRY and decision.delay == 0


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"base_delay": -1}, {"max_delay": 0.01}])
def test_bad_policies_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_a_failed_signature_is_an_unknown_outcome() -> None:
    assert is_ambiguous(ResponseSignatureError("altered", status=200))
