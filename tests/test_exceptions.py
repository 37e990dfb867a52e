"""Every error shape and code maps to the right class, with the context callers need."""

from __future__ import annotations

import pytest

import aiobitstamp
from aiobitstamp._exceptions import (
    AccountSuspendedError,
    AuthenticationError,
    BadRequestError,
    BitstampError,
    EndpointUnavailableError,
    ExchangeError,
    ExchangeUnavailableError,
    InsufficientFundsError,
    InvalidCredentialsError,
    InvalidNonceError,
    InvalidOrderError,
    InvalidParameterError,
    MalformedFieldError,
    MarketNotFoundError,
    NotFoundError,
    OrderNotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    TimestampOutOfBoundsError,
    UnexpectedResponseError,
    UnknownMarketError,
    error_from_response,
    error_from_undecodable,
    is_error_payload,
    parse_retry_after,
)

AUTH_CODES = {
    "API0001": AuthenticationError,
    "API0002": PermissionDeniedError,
    "API0003": PermissionDeniedError,
    "API0004": InvalidNonceError,
    "API0005": AuthenticationError,
    "API0006": AccountSuspendedError,
    "API0008": AuthenticationError,
    "API0009": PermissionDeniedError,
    "API0010": AuthenticationError,
    "API0011": AuthenticationError,
    "API0012": AuthenticationError,
    "API0013": AuthenticationError,
    "API0014": AuthenticationError,
    "API0015": AuthenticationError,
    "API0016": AuthenticationError,
    "API0017": TimestampOutOfBoundsError,
    "API0018": AuthenticationError,
    "API0019": AuthenticationError,
    "API0020": AuthenticationError,
    "API0021": BadRequestError,
}


@pytest.mark.parametrize(("code", "cls"), AUTH_CODES.items())
def test_auth_codes(code: str, cls: type[ExchangeError]) -> None:
    payload = {"status": "error", "reason": "some reason", "code": code}
    error = error_from_response(403, payload, method="POST", path="/api/v2/account_balances/")
    assert type(error) is cls
    assert error.status == 403
    assert error.code == code
    assert error.reason == "some reason"
    assert error.method == "POST"
    assert error.path == "/api/v2/account_balances/"
    assert code in str(error) and "/api/v2/account_balances/" in str(error)
    assert error.retry_safe is (code in ("API0004", "API0017"))


RESPONSE_CODES = {
    "400.001": BadRequestError,
    "400.002": RateLimitError,
    "400.003": InvalidOrderError,
    "400.004": BadRequestError,
    "400.005": BadRequestError,
    "400.006": BadRequestError,
    "400.007": BadRequestError,
    "400.009": InsufficientFundsError,
    "400.010": BadRequestError,
    "400.013": BadRequestError,
    "400.014": BadRequestError,
    "400.018": BadRequestError,
    "400.019": InvalidOrderError,
    "400.020": InvalidOrderError,
    "400.021": InvalidOrderError,
    "400.024": InvalidOrderError,
    "400.025": InvalidOrderError,
    "400.026": BadRequestError,
    "400.033": InvalidOrderError,
    "400.034": BadRequestError,
    "400.039": InvalidOrderError,
    "400.046": InvalidOrderError,
    "403.001": PermissionDeniedError,
    "403.004": AccountSuspendedError,
    "403.005": PermissionDeniedError,
    "404.001": NotFoundError,
    "404.002": OrderNotFoundError,
    "404.003": MarketNotFoundError,
    "404.004": NotFoundError,
    "404.005": MarketNotFoundError,
    "404.006": NotFoundError,
    "404.007": MarketNotFoundError,
    "405.001": EndpointUnavailableError,
    "410.001": EndpointUnavailableError,
    "500.001": ExchangeUnavailableError,
    "500.002": ExchangeUnavailableError,
    "500.009": ExchangeUnavailableError,
    "500.016": ExchangeUnavailableError,
    "500.023": ExchangeUnavailableError,
}


@pytest.mark.parametrize(("code", "cls"), RESPONSE_CODES.items())
def test_response_codes(code: str, cls: type[ExchangeError]) -> None:
    status = int(code[:3])
    payload = {"status": "error", "reason": {"__all__": ["Something."]}, "response_code": code}
    error = error_from_response(status, payload, method="POST", path="/api/v2/buy/btcusd/")
    assert type(error) is cls
    assert error.code == code
    assert error.reason == "Something."
    assert error.retry_safe is (cls is RateLimitError)


def test_rate_limit_carries_retry_after() -> None:
    payload = {
        "status": "error",
        "reason": "Request rejected due to exceeded rate limit.",
        "response_code": "400.002",
    }
    error = error_from_response(400, payload, method="GET", path="/x", retry_after="3")
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 3.0
    assert error.retry_safe
    plain_429 = error_from_response(429, None, method="GET", path="/x")
    assert isinstance(plain_429, RateLimitError)
    assert plain_429.retry_after is None


def test_field_errors_are_flattened_and_classified() -> None:
    payload = {
        "status": "error",
        "reason": {
            "amount": ["Ensure that there are no more than 8 decimal places."],
            "__all__": [""],
        },
    }
    error = error_from_response(400, payload, method="POST", path="/api/v2/buy/btcusd/")
    assert isinstance(error, InvalidOrderError)
    assert error.reason == "amount: Ensure that there are no more than 8 decimal places."


@pytest.mark.parametrize(
    ("payload", "cls"),
    [
        ({"error": "No permission found"}, PermissionDeniedError),
        ({"error": "API key not found"}, AuthenticationError),
        ({"error": "Invalid nonce"}, InvalidNonceError),
        ({"error": "Order not found."}, OrderNotFoundError),
        (
            {"error": "Bitstamp.net is under scheduled maintenance. We'll be back soon."},
            ExchangeUnavailableError,
        ),
        (
            {"status": "error", "reason": {"__all__": ["Minimum order size is 10.0 EUR."]}},
            InvalidOrderError,
        ),
        (
            {
                "status": "error",
                "reason": {
                    "__all__": [
                        "You need 100 USD to open that order. "
                        "Check your account balance for details."
                    ]
                },
            },
            InsufficientFundsError,
        ),
        (
            {
                "status": "error",
                "reason": {"__all__": ["Price is more than 20% above market price."]},
            },
            InvalidOrderError,
        ),
        (
            {
                "status": "error",
                "reason": {"__all__": ["Trading is currently unavailable for your account."]},
            },
            AccountSuspendedError,
        ),
        (
            {"error": {"address": ["Ensure this value has at least 26 characters."]}},
            BadRequestError,
        ),
    ],
)
def test_legacy_shapes(payload: dict[str, object], cls: type[ExchangeError]) -> None:
    error = error_from_response(200, payload, method="POST", path="/p")
    assert type(error) is cls
    assert is_error_payload(payload)


def test_success_payloads_are_not_errors() -> None:
    assert not is_error_payload([{"currency": "usd"}])
    assert not is_error_payload({"status": "ok"})
    assert not is_error_payload({"last": "1"})


def test_undecodable_bodies_name_the_status() -> None:
    html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    error = error_from_undecodable(502, html, "text/html", method="GET", path="/api/v2/ticker/")
    assert isinstance(error, ExchangeUnavailableError)
    assert "HTTP 502" in str(error) and "502 Bad Gateway" in str(error)
    truncated = error_from_undecodable(
        200, b'{"bids": [["1", "2"', "application/json", method="GET", path="/p"
    )
    assert isinstance(truncated, UnexpectedResponseError)
    assert "HTTP 200" in str(truncated) and "not valid JSON" in str(truncated)
    assert error_from_undecodable(503, b"", "", method="GET", path="/p").retry_safe


def test_builtin_mixins() -> None:
    assert issubclass(RequestTimeoutError, TimeoutError)
    assert issubclass(InvalidParameterError, ValueError)
    assert issubclass(UnknownMarketError, MarketNotFoundError)
    assert issubclass(UnknownMarketError, ValueError)
    for name in aiobitstamp.__all__:
        obj = getattr(aiobitstamp, name)
        if isinstance(obj, type) and name.endswith("Error"):
            assert issubclass(obj, BitstampError), name


def test_retry_after_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("garbage") is None
    assert parse_retry_after(None) is None


# --- Retry-After survives every status and body (defect 3/6) -------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_undecodable_answers_keep_retry_after(status: int) -> None:
    html = b"<html><body><h1>Too Many Requests</h1></body></html>"
    error = error_from_undecodable(
        status, html, "text/html", method="POST", path="/api/v2/buy/btcusd/", retry_after="30"
    )
    assert error.retry_after == 30.0
    assert error.retry_safe
    if status == 429:
        assert type(error) is RateLimitError
    else:
        assert type(error) is ExchangeUnavailableError
    assert (
        error_from_undecodable(status, html, "text/html", method="GET", path="/p").retry_after
        is None
    )


def test_json_errors_keep_retry_after_whatever_the_class() -> None:
    payload = {"status": "error", "reason": {"__all__": ["Down."]}, "response_code": "500.002"}
    error = error_from_response(503, payload, method="GET", path="/p", retry_after="7")
    assert type(error) is ExchangeUnavailableError
    assert error.retry_after == 7.0


@pytest.mark.parametrize(
    "header",
    ["inf", "Infinity", "nan", "1e309", "-5", "1_000", "\u0663", "0x10", "", "soon", "9" * 80],
)
def test_retry_after_refuses_what_is_not_a_delay(header: str) -> None:
    # float() takes most of these; an infinite or NaN pause would hang the client.
    assert parse_retry_after(header) is None


def test_retry_after_forms() -> None:
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after(" 2.5 ") == 2.5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 -0000", now=1445412480.0) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412490.0) == 0.0
    assert parse_retry_after(b"30") is None  # type: ignore[arg-type]


# --- MalformedFieldError and InvalidCredentialsError ------------------------------------------


def test_malformed_field_error_names_model_and_path_not_value() -> None:
    inner = MalformedFieldError("expected a decimal, got a float", model="OrderFill", field="fee")
    outer = inner.within("OrderStatus", "transactions[1]")
    assert isinstance(outer, UnexpectedResponseError) and isinstance(outer, BitstampError)
    # Also a ValueError, as parsing errors of the models always were.
    assert isinstance(outer, ValueError)
    assert (outer.model, outer.field) == ("OrderStatus", "transactions[1].fee")
    assert str(outer) == (
        "malformed OrderStatus answer, at transactions[1].fee: expected a decimal, got a float"
    )
    indexed = MalformedFieldError("missing", model="PriceLevel", field="price").within(None, "[3]")
    assert (indexed.model, indexed.field) == ("PriceLevel", "[3].price")
    row = MalformedFieldError("too short", model="PriceLevel").within("OrderBook", "bids")
    assert str(row) == "malformed OrderBook answer, at bids: too short"
    assert MalformedFieldError("x").within(None, "[0]").field == "[0]"
    assert MalformedFieldError("x", field="[1]").within(None, "[0]").field == "[0][1]"


def test_invalid_credentials_is_a_value_error_in_the_tree() -> None:
    assert issubclass(InvalidCredentialsError, InvalidParameterError)
    assert issubclass(InvalidCredentialsError, ValueError)
    assert issubclass(InvalidCredentialsError, BitstampError)


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "text",
        7,
        {"code": {"nested": 1}, "reason": [1, 2]},
        {"reason": {"amount": {"deep": ["x"]}, "__all__": "flat"}},
        {"error": {"__all__": [None, 5, ""]}, "response_explanation": 3},
        {"status": "error", "response_code": 400.002},
        {"status": "error", "code": "", "reason": ""},
    ],
)
def test_error_from_response_takes_any_decoded_json(payload: object) -> None:
    error = error_from_response(400, payload, method="GET", path="/p", retry_after="x")
    assert isinstance(error, ExchangeError)
    assert str(error)
    assert error.retry_after is None
