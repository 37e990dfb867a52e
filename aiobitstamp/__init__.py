"""aiobitstamp: an asyncio client for the Bitstamp exchange.

>>> import aiobitstamp
>>> async def main() -> None:  # doctest: +SKIP
...     async with aiobitstamp.Client(api_key, api_secret) as client:
...         print(await client.ticker("btcusd"))

``aiobitstamp.testing.FakeBitstamp`` is a local emulator of the exchange to test against.
"""

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from ._api.orders import OrderOptions, TimeInForce
from ._auth import Credentials, QuerySigning
from ._client import Client, RequestRecord
from ._exceptions import (
    AccountSuspendedError,
    AuthenticationError,
    BadRequestError,
    BitstampError,
    ClientClosedError,
    EndpointUnavailableError,
    ExchangeError,
    ExchangeUnavailableError,
    InsufficientFundsError,
    InvalidNonceError,
    InvalidOrderError,
    InvalidParameterError,
    MarketNotFoundError,
    MissingCredentialsError,
    NotFoundError,
    OrderNotFoundError,
    OrderOutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    ResponseSignatureError,
    TimestampOutOfBoundsError,
    TransportError,
    UnexpectedResponseError,
    UnknownMarketError,
)
from ._limiter import DEFAULT_RATE_LIMITS, Lane, LaneStats, Limiter, SlidingWindowLimiter
from ._models import (
    Balance,
    CancelAllResult,
    CanceledOrder,
    CancelOutcome,
    Candle,
    Currency,
    EurUsdRate,
    Market,
    OpenOrder,
    OrderBook,
    OrderPlaced,
    OrderStatus,
    PriceLevel,
    PriceLevels,
    ReplacedOrder,
    Rows,
    Side,
    Ticker,
    Trade,
    TradingPairInfo,
    Vasp,
    WebSocketToken,
)
from ._models.derivatives import FundingRate, FundingRateHistory
from ._retry import RetryPolicy
from ._transport import AiohttpTransport, MockTransport, Request, Response, Timeouts, Transport

if TYPE_CHECKING:
    from ._redis_limiter import RedisLimiter


def __getattr__(name: str) -> Any:
    # RedisLimiter needs the optional 'redis' package: import it only when asked for, so
    # 'import aiobitstamp' works without it.
    if name == "RedisLimiter":
        from ._redis_limiter import RedisLimiter

        return RedisLimiter
    raise AttributeError(f"module 'aiobitstamp' has no attribute {name!r}")


try:
    __version__ = version("aiobitstamp")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = [
    "DEFAULT_RATE_LIMITS",
    "AccountSuspendedError",
    "AiohttpTransport",
    "AuthenticationError",
    "BadRequestError",
    "Balance",
    "BitstampError",
    "CancelAllResult",
    "CancelOutcome",
    "CanceledOrder",
    "Candle",
    "Client",
    "ClientClosedError",
    "Credentials",
    "Currency",
    "EndpointUnavailableError",
    "EurUsdRate",
    "ExchangeError",
    "ExchangeUnavailableError",
    "FundingRate",
    "FundingRateHistory",
    "InsufficientFundsError",
    "InvalidNonceError",
    "InvalidOrderError",
    "InvalidParameterError",
    "Lane",
    "LaneStats",
    "Limiter",
    "Market",
    "MarketNotFoundError",
    "MissingCredentialsError",
    "MockTransport",
    "NotFoundError",
    "OpenOrder",
    "OrderBook",
    "OrderNotFoundError",
    "OrderOptions",
    "OrderOutcomeUnknownError",
    "OrderPlaced",
    "OrderStatus",
    "PermissionDeniedError",
    "PriceLevel",
    "PriceLevels",
    "QuerySigning",
    "RateLimitError",
    "RedisLimiter",
    "ReplacedOrder",
    "Request",
    "RequestRecord",
    "RequestTimeoutError",
    "Response",
    "ResponseSignatureError",
    "RetryPolicy",
    "Rows",
    "Side",
    "SlidingWindowLimiter",
    "Ticker",
    "TimeInForce",
    "Timeouts",
    "TimestampOutOfBoundsError",
    "Trade",
    "TradingPairInfo",
    "Transport",
    "TransportError",
    "UnexpectedResponseError",
    "UnknownMarketError",
    "Vasp",
    "WebSocketToken",
    "__version__",
]
