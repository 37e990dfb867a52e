"""Typed, immutable views of Bitstamp's JSON answers, one module per area.

* :mod:`._wire`: the primitives every model parses its fields with, and :class:`Rows`.
* :mod:`.market_data`: tickers, order books, trades, candles, markets, currencies.
* :mod:`.account`: balances and the WebSocket token.
* :mod:`.orders`: ``Side``, placed, open, inspected and canceled orders.
* :mod:`.fees`: trading and withdrawal fees, the account's markets, revoked keys.
* :mod:`.transactions`: user and crypto transactions, order events.

Every model is a frozen, slotted dataclass with a ``from_wire(obj)`` classmethod that takes
the decoded JSON (as ``orjson.loads`` returns it) and never does I/O. The rules:

* Prices, amounts, fees, rates and volumes are :class:`~decimal.Decimal`, parsed from the
  wire string. When a value arrives as a JSON number (cancel responses, WebSocket frames,
  ``user_transactions``), an ``int`` converts exactly and a ``float`` converts through its
  shortest ``repr``, so ``0.1`` becomes ``Decimal("0.1")``, not the binary expansion.
* Ids are ``str``: order ids are 16 digits and some trade ids exceed 2**53, so they must never
  pass through a float. A float id is rejected.
* Times are timezone-aware UTC :class:`~datetime.datetime` objects. Unix-second strings,
  microsecond strings (converted with integer arithmetic, so no microsecond is lost) and the
  private ``"YYYY-MM-DD HH:MM:SS[.ffffff]"`` form (which is UTC without saying so) are read.
* A payload that lacks a required field, or carries one that cannot be parsed, raises
  :class:`ValueError` naming the model and the field. The message never echoes the payload,
  which can hold credentials.

:class:`OrderBook` is built for the full REST book (thousands of levels per side): it keeps
the lists ``orjson`` produced and converts a row to a :class:`PriceLevel` only when that row
is read, so building it costs next to nothing beyond the JSON decode.
"""

from ._wire import Rows
from .account import Balance, WebSocketToken
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
