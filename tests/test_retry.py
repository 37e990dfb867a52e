"""RetryPolicy: what may be resent, and how long to wait first."""

from __future__ import annotations

import random

import pytest

from aiobitstamp import (
    AuthenticationError,
    ExchangeUnavailableError,
    InvalidNonceError,
    RateLimitError,
    RequestTimeoutError,
    RetryPolicy,
    TransportError,
)


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
    ],
)
def test_should_retry(error: Exception, idempotent: bool, expected: bool) -> None:
    policy = RetryPolicy(max_attempts=3)
    assert policy.should_retry(error, 1, idempotent=idempotent) is expected  # type: ignore[arg-type]
    assert policy.should_retry(error, 3, idempotent=idempotent) is False  # type: ignore[arg-type]


def test_backoff_is_capped_full_jitter() -> None:
    policy = RetryPolicy(base_delay=0.1, max_delay=1.0, rng=random.Random(42))
    error = TransportError("x", retry_safe=True)
    for attempt, ceiling in ((1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (9, 1.0)):
        delays = [policy.delay(error, attempt) for _ in range(200)]
        assert min(delays) >= 0 and max(delays) <= ceiling
        assert max(delays) > ceiling * 0.8  # the jitter spans the whole range
    again = RetryPolicy(base_delay=0.1, max_delay=1.0, rng=random.Random(42))
    first = RetryPolicy(base_delay=0.1, max_delay=1.0, rng=random.Random(42))
    assert [again.delay(error, 3) for _ in range(5)] == [first.delay(error, 3) for _ in range(5)]


def test_retry_after_is_honoured_exactly() -> None:
    policy = RetryPolicy(max_delay=1.0)
    assert policy.delay(RateLimitError("rate", retry_after=7.5), 1) == 7.5


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"base_delay": -1}, {"max_delay": 0.01}])
def test_bad_policies_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
