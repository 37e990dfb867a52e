"""Typed, immutable views of Bitstamp's JSON answers, one module per area.

* :mod:`._wire`: the primitives every model parses its fields with, and :class:`Rows`.
* :mod:`.market_data`: tickers, order books, trades, candles, markets, currencies.
* :mod:`.account`: balances and the WebSocket token.
* :mod:`.orders`: ``Side``, placed, open, inspected, replaced and canceled orders.
* :mod:`.derivatives`: funding rates of perpetual markets.
* :mod:`.fees`: trading and withdrawal fees, the account's markets, revoked keys.
* :mod:`.transactions`: user and crypto transactions, order events.
* :mod:`.funding`: deposits, withdrawals, transfers and instant conversion.
* :mod:`.earn`: staking and lending subscriptions and their transactions.
* :mod:`.travel_rule`: travel-rule contacts.

Every model is a frozen, slotted dataclass with a ``from_wire(obj)`` classmethod that takes
the decoded JSON and never does I/O. The rules (details in :mod:`._wire`):

* Prices, amounts, fees, rates and volumes are exact :class:`~decimal.Decimal` values, from
  the wire string, or from an ``int`` or ``Decimal`` when the answer carries JSON numbers and
  was decoded with :func:`aiobitstamp._json.loads_exact`. A ``float`` is refused, never
  rounded: it has already lost digits.
* Ids are ``str``: order ids are 16 digits and some trade ids exceed 2**53, so they must never
  pass through a float.
* Times are timezone-aware UTC :class:`~datetime.datetime` objects. Unix-second strings,
  microsecond strings (converted with integer arithmetic, so no microsecond is lost) and the
  private ``"YYYY-MM-DD HH:MM:SS[.ffffff]"`` form (which is UTC without saying so) are read.
* A payload of the wrong shape (a missing field, a list where a price belongs, ``true``
  where a number belongs, NaN, ``"1e999999"``, digits other than ASCII) raises
  :class:`~aiobitstamp._exceptions.MalformedFieldError` (an ``UnexpectedResponseError``)
  naming the model and the path to the field, at ``from_wire`` or, for the lazy ``Ticker``
  values and ``Rows``, when the value is read. Nothing else comes out of a parser, and
  ``repr()`` never raises. The message never echoes the payload, which can hold credentials.

:class:`OrderBook` is built for the full REST book (thousands of levels per side): it keeps
the lists the decoder produced and converts a row to a :class:`PriceLevel` only when that
row is read, so building it costs next to nothing beyond the JSON decode.
"""

from ._wire import Rows
from .account import Balance, WebSocketToken
from .derivatives import FundingRate, FundingRateHistory
from .earn import (
    DistributionPeriod,
    EarnSetting,
    EarnSubscription,
    EarnTerm,
    EarnTransaction,
    EarnTransactionStatus,
    EarnTransactionType,
    EarnType,
)
from .fees import AccountMarket, RevokedApiKeys, TradingFee, WithdrawalFee
from .funding import (
    BankWithdrawalStatus,
    CanceledWithdrawal,
    ConvertOrder,
    ConvertTrade,
    DepositAddress,
    InstantConvertAddressInfo,
    UnconfirmedBtc,
    UnconfirmedDeposit,
    WithdrawalCancelOutcome,
    WithdrawalPlaced,
    WithdrawalRequest,
    WithdrawalStatus,
)
from .market_data import (
    Candle,
    Currency,
    EurUsdRate,
    Market,
    OrderBook,
    PriceLevel,
    PriceLevels,
    Ticker,
    Trade,
    TradingPairInfo,
    Vasp,
)
from .orders import (
    CancelAllResult,
    CanceledOrder,
    CancelOutcome,
    OpenOrder,
    OrderFill,
    OrderPlaced,
    OrderState,
    OrderStatus,
    ReplacedOrder,
    Side,
)
from .transactions import (
    CryptoTransaction,
    CryptoTransactionKind,
    CryptoTransactions,
    OrderEvent,
    OrderEventType,
    OrderSource,
    TransactionType,
    UserTransaction,
)
from .travel_rule import CorporateInfo, RetailInfo, TravelRuleContact

__all__ = [
    "AccountMarket",
    "Balance",
    "BankWithdrawalStatus",
    "CancelAllResult",
    "CancelOutcome",
    "CanceledOrder",
    "CanceledWithdrawal",
    "Candle",
    "ConvertOrder",
    "ConvertTrade",
    "CorporateInfo",
    "CryptoTransaction",
    "CryptoTransactionKind",
    "CryptoTransactions",
    "Currency",
    "DepositAddress",
    "DistributionPeriod",
    "EarnSetting",
    "EarnSubscription",
    "EarnTerm",
    "EarnTransaction",
    "EarnTransactionStatus",
    "EarnTransactionType",
    "EarnType",
    "EurUsdRate",
    "FundingRate",
    "FundingRateHistory",
    "InstantConvertAddressInfo",
    "Market",
    "OpenOrder",
    "OrderBook",
    "OrderEvent",
    "OrderEventType",
    "OrderFill",
    "OrderPlaced",
    "OrderSource",
    "OrderState",
    "OrderStatus",
    "PriceLevel",
    "PriceLevels",
    "ReplacedOrder",
    "RetailInfo",
    "RevokedApiKeys",
    "Rows",
    "Side",
    "Ticker",
    "Trade",
    "TradingFee",
    "TradingPairInfo",
    "TransactionType",
    "TravelRuleContact",
    "UnconfirmedBtc",
    "UnconfirmedDeposit",
    "UserTransaction",
    "Vasp",
    "WebSocketToken",
    "WithdrawalCancelOutcome",
    "WithdrawalFee",
    "WithdrawalPlaced",
    "WithdrawalRequest",
    "WithdrawalStatus",
]
