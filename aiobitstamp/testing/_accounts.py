"""Accounts of the emulated exchange: keys, balances with reservations, orders, ledger.

A balance is ``total`` and ``reserved``; ``available = total - reserved``. Placing an order
reserves what it may spend (counter currency plus the taker fee for a buy, the base amount
for a sell); fills spend from the order's reservation; closing an order (filled, cancelled,
expired) releases what is left of it. Every amount is a ``Decimal`` rounded to the
currency's balance decimals, like the strings ``account_balances/`` sends.

Every movement of money is a ``LedgerRow`` in ``FakeAccount.ledger``, in time order: that
is what ``user_transactions/`` lists. Trades write their rows here; deposits, withdrawals,
transfers and earn can append theirs (``FakeAccount.record``) with their own type codes.
Every change of one of the account's orders is an ``AccountOrderEvent`` in
``FakeAccount.order_events`` (``account_order_data/``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from .._auth import Credentials
from .._permissions import Permission, scope_of
from .._routes import ROUTES
from ._numbers import quantize

if TYPE_CHECKING:
    from ._market_data import MarketSpec
    from ._order_book import BookEntry

__all__ = [
    "PERMISSIONS",
    "AccountOrderEvent",
    "Balance",
    "FakeAccount",
    "FakeApiKey",
    "Fill",
    "LedgerRow",
    "Order",
]

# Names for FakeAccount(permissions=...): the permission each signed route of the table
# needs (``aiobitstamp._routes``), so a key can be limited to exactly what Bitstamp lets a
# key be limited to. The client's scopes (``"read"``, ``"trade"``, ... see
# ``aiobitstamp.Permission``) are accepted too, and grant every permission they group.
PERMISSIONS = frozenset(route.permission for route in ROUTES.values() if route.signed)
_SCOPE_NAMES = frozenset(scope.value for scope in Permission)


def _checked_permissions(permissions: Iterable[str] | None) -> frozenset[str] | None:
    if permissions is None:
        return None
    names = frozenset(permissions)
    unknown = names - PERMISSIONS - _SCOPE_NAMES
    if unknown:
        raise ValueError(
            f"unknown permissions {sorted(unknown)}; known: {sorted(PERMISSIONS)} "
            f"and the scopes {sorted(_SCOPE_NAMES)}"
        )
    return names


def allows(permissions: frozenset[str] | None, permission: str) -> bool:
    """Whether a key holding ``permissions`` (fine names and/or scopes; ``None``: all) may
    use an endpoint that needs ``permission``."""
    return (
        permissions is None
        or permission in permissions
        or scope_of(permission).value in permissions
    )


class FakeApiKey:
    """A further API key of an account (:meth:`FakeBitstamp.add_api_key`), with its own
    secret, permissions and IP allow-list; both may be changed at any time.

    The key an account was created with lives on the account itself
    (``FakeAccount.credentials``, ``permissions``, ``allowed_ips``).
    """

    __slots__ = ("account", "allowed_ips", "credentials", "permissions")

    def __init__(
        self,
        credentials: Credentials,
        account: FakeAccount,
        *,
        permissions: Iterable[str] | None = None,
        allowed_ips: Iterable[str] | None = None,
    ) -> None:
        self.credentials = credentials
        self.account = account
        self.permissions: frozenset[str] | None = _checked_permissions(permissions)
        self.allowed_ips: frozenset[str] | None = (
            None if allowed_ips is None else frozenset(allowed_ips)
        )

    @property
    def api_key(self) -> str:
        return self.credentials.api_key

    def __repr__(self) -> str:
        return f"FakeApiKey(api_key={self.api_key!r}, user_id={self.account.user_id})"


@dataclass(frozen=True, slots=True)
class Balance:
    """One currency of an account, as ``account_balances/`` reports it."""

    currency: str
    total: Decimal
    available: Decimal
    reserved: Decimal


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of an order: ``amount`` base units at ``price`` ticks.

    ``settled`` is the counter amount that changed hands and ``fee`` the fee paid, both in
    counter currency; ``self_trade_order_id`` names the account's own order on the other side.
    """

    tid: int
    price: int
    amount: int
    settled: Decimal
    fee: Decimal
    us: int
    self_trade_order_id: int | None = None


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One row of ``user_transactions/``: a signed amount per currency it moved.

    ``type`` is Bitstamp's code (0 deposit, 1 withdrawal, 2 market trade, 14 sub-account
    transfer, ...). Trades also carry their market, price (ticks) and order ids.
    """

    id: int
    us: int
    type: int
    amounts: Mapping[str, Decimal]
    fee: Decimal
    market: MarketSpec | None = None
    price: int | None = None
    order_id: int | None = None
    self_trade_order_id: int | None = None


@dataclass(frozen=True, slots=True)
class AccountOrderEvent:
    """One change of an account's order, as ``account_order_data/`` lists it.

    ``kind`` is ``order_created``, ``order_changed`` or ``order_deleted``; ``amount`` is what
    remains, ``amount_traded`` the fill that caused a change (0 otherwise).
    """

    event_id: int
    kind: str
    order: Order
    us: int
    amount: int
    amount_traded: int


@dataclass(slots=True, eq=False)
class Order:
    """A limit, market or instant order of an account, open or closed."""

    id: int
    account: FakeAccount
    market: MarketSpec
    side: int  # 0 buy, 1 sell
    price: int  # ticks
    amount: int  # base units at creation
    created_us: int
    client_order_id: str | None = None
    kind: str = "limit"  # "limit", "market" or "instant"
    limit_price: int | None = None
    expires_us: int | None = None
    remaining: int = -1
    status: str = "Open"
    closed_us: int | None = None
    reserved: Decimal = Decimal(0)
    fills: list[Fill] = field(default_factory=list)
    # Exact counter value traded so far, in total and per fee role. Settlement rounds these
    # running totals, not each fill, so many small fills cost exactly what one would.
    traded_value: Decimal = Decimal(0)
    taker_value: Decimal = Decimal(0)
    maker_value: Decimal = Decimal(0)
    entry: BookEntry | None = None  # set while the order rests in the book

    def __post_init__(self) -> None:
        if self.remaining < 0:
            self.remaining = self.amount

    @property
    def is_open(self) -> bool:
        """True until the order is filled, cancelled or expired."""
        return self.status == "Open"


class FakeAccount:
    """An account on the emulator: API key, balances, orders, and access rules.

    Create one with :meth:`FakeBitstamp.add_account`. ``frozen``, ``allowed_ips`` and
    ``permissions`` may be changed at any time to provoke API0006, API0002 and API0003.

    >>> account = fake.add_account("key1", "secret1", {"usd": "1000"})  # doctest: +SKIP
    >>> account.balance("usd").available  # doctest: +SKIP
    Decimal('1000.00')
    """

    __slots__ = (
        "_balances",
        "_decimals",
        "allowed_ips",
        "credentials",
        "extra_keys",
        "frozen",
        "ledger",
        "order_events",
        "orders",
        "permissions",
        "user_id",
        "websocket_tokens",
    )

    def __init__(
        self,
        credentials: Credentials,
        *,
        user_id: int,
        currency_decimals: Mapping[str, int],
        balances: Mapping[str, Decimal | str | int] | None = None,
        frozen: bool = False,
        allowed_ips: Iterable[str] | None = None,
        permissions: Iterable[str] | None = None,
    ) -> None:
        self.credentials = credentials
        self.user_id = user_id
        self.frozen = frozen
        self.allowed_ips: frozenset[str] | None = (
            None if allowed_ips is None else frozenset(allowed_ips)
        )
        self.permissions: frozenset[str] | None = _checked_permissions(permissions)
        # Further keys of this account by API key (FakeBitstamp.add_api_key).
        self.extra_keys: dict[str, FakeApiKey] = {}
        self._decimals = dict(currency_decimals)
        zero = Decimal(0)
        self._balances: dict[str, list[Decimal]] = {
            code: [quantize(zero, places), quantize(zero, places)]
            for code, places in self._decimals.items()
        }
        self.orders: dict[int, Order] = {}
        self.ledger: list[LedgerRow] = []
        self.order_events: list[AccountOrderEvent] = []
        # Token -> expiry (server seconds) of websockets_token/ answers, for the stream server.
        self.websocket_tokens: dict[str, float] = {}
        for currency, amount in (balances or {}).items():
            self.set_balance(currency, amount)

    def __repr__(self) -> str:
        # Safe on a half-built account too: tracebacks that print locals call this.
        credentials = getattr(self, "credentials", None)
        key = credentials.api_key if credentials is not None else None
        return f"FakeAccount(api_key={key!r}, user_id={getattr(self, 'user_id', None)})"

    @property
    def api_key(self) -> str:
        """The account's API key (the secret stays inside ``credentials``)."""
        return self.credentials.api_key

    def _slot(self, currency: str) -> list[Decimal]:
        try:
            return self._balances[currency.lower()]
        except KeyError:
            raise ValueError(f"unknown currency {currency!r}") from None

    def balance(self, currency: str) -> Balance:
        """Total, available and reserved amounts of ``currency``."""
        total, reserved = self._slot(currency)
        return Balance(currency.lower(), total, total - reserved, reserved)

    def balances(self) -> list[Balance]:
        """Every listed currency, in catalogue order."""
        return [self.balance(code) for code in self._balances]

    def set_balance(self, currency: str, total: Decimal | str | int) -> None:
        """Set the total of ``currency``; it may not fall below what open orders reserve."""
        slot = self._slot(currency)
        value = quantize(Decimal(total), self._decimals[currency.lower()])
        if value < slot[1]:
            raise ValueError(f"{currency} total {value} is below the reserved {slot[1]}")
        slot[0] = value

    def open_orders(self, market: MarketSpec | None = None) -> list[Order]:
        """Open orders, oldest first, optionally of one market."""
        return [
            o for o in self.orders.values() if o.is_open and (market is None or o.market is market)
        ]

    # -- bookkeeping used by the trading engine -----------------------------------------

    def record(self, row: LedgerRow) -> None:
        """Append a ledger row (``user_transactions/``); rows arrive in time order."""
        self.ledger.append(row)

    def order_event(self, kind: str, order: Order, us: int, amount_traded: int = 0) -> None:
        """Remember a change of one of this account's orders (``account_order_data/``)."""
        event_id = (self.order_events[-1].event_id + 1) if self.order_events else 1
        self.order_events.append(
            AccountOrderEvent(event_id, kind, order, us, order.remaining, amount_traded)
        )

    def decimals(self, currency: str) -> int:
        """Balance decimals of ``currency``."""
        return self._decimals[currency]

    def reserve(self, order: Order, currency: str, amount: Decimal) -> None:
        """Move ``amount`` from available to reserved on behalf of ``order``."""
        self._slot(currency)[1] += amount
        order.reserved += amount

    def release(self, order: Order, currency: str, amount: Decimal | None = None) -> None:
        """Give back ``amount`` (default: all) of what ``order`` still reserves."""
        amount = order.reserved if amount is None else min(amount, order.reserved)
        self._slot(currency)[1] -= amount
        order.reserved -= amount

    def spend(self, order: Order, currency: str, amount: Decimal) -> None:
        """Pay ``amount`` for a fill of ``order``, out of its reservation first."""
        slot = self._slot(currency)
        from_reserve = min(amount, order.reserved)
        slot[1] -= from_reserve
        order.reserved -= from_reserve
        slot[0] -= amount

    def credit(self, currency: str, amount: Decimal) -> None:
        """Receive ``amount`` from a fill."""
        self._slot(currency)[0] += amount

    def hold(self, currency: str, amount: Decimal) -> None:
        """Reserve ``amount`` (release it when negative) for something other than an order:
        a pending withdrawal (``_funding``)."""
        self._slot(currency)[1] += amount
