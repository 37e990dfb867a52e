"""Every Bitstamp REST endpoint, declared once as data.

The client's methods, the emulator's router and the coverage test all read this table, so
the three cannot drift apart: a method is one line naming its route, and the request
pipeline is the only code that sends. Paths are relative to ``/api/v2/`` and always end in
``/`` (the fact sheet, section a).

``Repeat`` says what may happen after an ambiguous failure (a timeout, a reset, a 5xx whose
answer proves nothing), and is the single source of the retry rules:

* ``READ``: harmless to send again.
* ``CANCEL``: sending again cannot do harm, but a "not found" on the repeat may mean the
  first attempt succeeded; the caller decides what that means.
* ``ORDER``: never resent blindly. It carries a ``client_order_id``; the client looks the
  order up by it and sends again only when the exchange has no such order.
* ``ONCE``: never resent after an ambiguous failure; the caller is told the outcome is
  unknown.

A request that the exchange certainly did not act on (a refused connection, a rate
rejection, an auth error before execution) may always be sent again, whatever its kind.
"""

from __future__ import annotations

import enum
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from ._limiter import Lane

__all__ = ["ROUTES", "JsonBody", "Repeat", "Route", "route"]


class Repeat(enum.Enum):
    """What may be done with a request whose outcome is unknown (see the module doc)."""

    READ = "read"
    CANCEL = "cancel"
    ORDER = "order"
    ONCE = "once"


@dataclass(frozen=True, slots=True)
class JsonBody:
    """How the official OpenAPI spec writes a route's body when it declares it
    ``application/json`` (reference SOURCE.txt, caveat 6): the fields it types as numbers
    and as nested objects; every other field is a string. The fact sheet says every
    private POST is form-encoded, so a client sends JSON only with ``body_encoding="spec"``.
    """

    numbers: frozenset[str] = frozenset()
    objects: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Route:
    """One endpoint: verb, path template, priority lane, whether it is signed, what a
    repeat may do, and the key permission it needs at the exchange."""

    name: str
    method: str
    template: str
    lane: Lane
    signed: bool
    repeat: Repeat
    permission: str
    # Answers that carry JSON numbers (not strings) are decoded exactly, digit for digit.
    exact_numbers: bool = False
    # The verb is disputed between sources; the client lets the caller choose.
    verb_disputed: bool = False
    # The spec declares a JSON body (the fact sheet a form): see JsonBody.
    json_body: JsonBody | None = None
    placeholders: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        names = tuple(
            name for _, name, _, _ in string.Formatter().parse(self.template) if name is not None
        )
        object.__setattr__(self, "placeholders", names)

    def path(self, values: Mapping[str, str] | None = None) -> str:
        """The path under ``/api/v2/`` with ``values`` (already checked, plain ``str``)
        put in the template's placeholders."""
        if not self.placeholders:
            return self.template
        if values is None or len(values) != len(self.placeholders):
            raise TypeError(f"route {self.name} needs {self.placeholders}, got {values}")
        return self.template.format_map(values)


def _routes() -> Iterator[Route]:
    read, cancel, order, once = Repeat.READ, Repeat.CANCEL, Repeat.ORDER, Repeat.ONCE
    public, private, place, cancel_lane = Lane.PUBLIC, Lane.PRIVATE_READ, Lane.PLACE, Lane.CANCEL

    def get(name: str, template: str, **options: object) -> Route:
        return Route(name, "GET", template, public, False, read, "", **options)  # type: ignore[arg-type]

    # Private answers are decoded digit-exact unless the sources say every number in them
    # is a string: a JSON number there (ids, amounts, fees) must not pass through a float.
    def post(
        name: str,
        template: str,
        lane: Lane,
        repeat: Repeat,
        permission: str,
        exact_numbers: bool = True,
        **options: object,
    ) -> Route:
        flags = {"exact_numbers": exact_numbers, **options}
        return Route(name, "POST", template, lane, True, repeat, permission, **flags)  # type: ignore[arg-type]

    # The spec's JSON bodies (reference SOURCE.txt, caveat 6) whose fields are all strings.
    strings = JsonBody()

    def signed_get(name: str, template: str, permission: str) -> Route:
        return Route(name, "GET", template, private, True, read, permission, True)

    # -- public market data --------------------------------------------------------------
    yield get("ticker", "ticker/{market_symbol}/")
    yield get("tickers", "ticker/")
    yield get("ticker_hour", "ticker_hour/{market_symbol}/")
    yield get("order_book", "order_book/{market_symbol}/")
    yield get("transactions", "transactions/{market_symbol}/")
    yield get("ohlc", "ohlc/{market_symbol}/")
    yield get("markets", "markets/")
    yield get("trading_pairs_info", "trading-pairs-info/")
    # Its fee and minimum fields are numbers in some captures.
    yield get("currencies", "currencies/", exact_numbers=True)
    yield get("eur_usd", "eur_usd/")
    yield get("travel_rule_vasps", "travel_rule/vasps/")
    yield get("funding_rate", "funding_rate/{market_symbol}/")
    yield get("funding_rate_history", "funding_rate_history/{market_symbol}/")

    # -- account ------------------------------------------------------------------------
    # Balances, tokens and open orders: strings throughout (fact sheet, sections c and g).
    yield post("account_balances", "account_balances/", private, read, "account_balances", False)
    yield post(
        "account_balance", "account_balances/{currency}/", private, read, "account_balances", False
    )
    yield post("trading_fees", "fees/trading/", private, read, "trading_fees")
    yield post("trading_fee", "fees/trading/{market_symbol}/", private, read, "trading_fees")
    yield post("withdrawal_fees", "fees/withdrawal/", private, read, "withdrawal_fees")
    yield post(
        "withdrawal_fee",
        "fees/withdrawal/{currency}/",
        private,
        read,
        "withdrawal_fees",
        json_body=strings,
    )
    # GEN lists GET, JKorf sends POST (fact sheet, section a): POST by default, switchable.
    yield post("my_markets", "my_markets/", private, read, "my_markets", verb_disputed=True)
    yield post("websockets_token", "websockets_token/", private, read, "websockets_token", False)
    yield post(
        "user_transactions",
        "user_transactions/",
        private,
        read,
        "user_transactions",
    )
    yield post(
        "user_transactions_for_market",
        "user_transactions/{market_symbol}/",
        private,
        read,
        "user_transactions",
    )
    yield post(
        "crypto_transactions",
        "crypto-transactions/",
        private,
        read,
        "crypto_transactions",
    )
    # The kill switch jumps every queue, and repeating it is harmless.
    # The spec declares a JSON body and says none is expected: none is sent either way.
    yield post(
        "revoke_all_api_keys",
        "revoke_all_api_keys/",
        cancel_lane,
        cancel,
        "revoke_api_keys",
        json_body=strings,
    )

    # -- orders -----------------------------------------------------------------------
    for side in ("buy", "sell"):
        yield post(
            f"{side}_limit",
            f"{side}/{{market_symbol}}/",
            place,
            order,
            f"{side}_limit_order",
            exact_numbers=True,
        )
        yield post(
            f"{side}_market",
            f"{side}/market/{{market_symbol}}/",
            place,
            order,
            f"{side}_market_order",
            exact_numbers=True,
        )
        yield post(
            f"{side}_instant",
            f"{side}/instant/{{market_symbol}}/",
            place,
            order,
            f"{side}_instant_order",
            exact_numbers=True,
        )
    yield post("replace_order", "replace_order/", place, order, "replace_order")
    yield post(
        "cancel_order", "cancel_order/", cancel_lane, cancel, "cancel_order", exact_numbers=True
    )
    yield post(
        "cancel_all_orders",
        "cancel_all_orders/",
        cancel_lane,
        cancel,
        "cancel_all_orders",
    )
    yield post(
        "cancel_all_orders_for_market",
        "cancel_all_orders/{market_symbol}/",
        cancel_lane,
        cancel,
        "cancel_all_orders",
    )
    yield post("open_orders", "open_orders/", private, read, "open_orders", False)
    yield post(
        "open_orders_for_market",
        "open_orders/{market_symbol}/",
        private,
        read,
        "open_orders",
        False,
    )
    yield post("order_status", "order_status/", private, read, "order_status", json_body=strings)
    yield post("order_data", "order_data/", private, read, "order_status")
    yield post(
        "account_order_data",
        "account_order_data/",
        private,
        read,
        "order_status",
    )

    # -- funding: deposits, withdrawals, transfers, instant convert ------------------------
    yield post(
        "deposit_address",
        "{currency}_address/",
        private,
        read,
        "deposit_address",
        json_body=strings,
    )
    yield post("ripple_deposit_address", "ripple_address/", private, read, "deposit_address")
    yield post("btc_unconfirmed", "btc_unconfirmed/", private, read, "deposit_address")
    yield post("withdraw", "{currency}_withdrawal/", place, once, "withdrawal")
    yield post("withdraw_ripple_iou", "ripple_withdrawal/", place, once, "withdrawal")
    yield post("withdraw_bank", "withdrawal/open/", place, once, "withdrawal")
    yield post("bank_withdrawal_status", "withdrawal/status/", private, read, "withdrawal_requests")
    yield post("cancel_withdrawal", "withdrawal/cancel/", cancel_lane, cancel, "withdrawal")
    yield post("withdrawal_requests", "withdrawal-requests/", private, read, "withdrawal_requests")
    yield post("transfer_to_main", "transfer-to-main/", place, once, "transfer")
    yield post("transfer_from_main", "transfer-from-main/", place, once, "transfer")
    yield post(
        "instant_convert_address",
        "instant_convert_address/info/",
        private,
        read,
        "instant_convert_address",
    )
    yield post(
        "new_instant_convert_address",
        "instant_convert_address/new/",
        place,
        once,
        "instant_convert_address",
    )

    # -- earn -------------------------------------------------------------------------
    earn_amount = JsonBody(numbers=frozenset({"amount"}))
    yield post("earn_subscribe", "earn/subscribe/", place, once, "earn", json_body=earn_amount)
    yield post("earn_unsubscribe", "earn/unsubscribe/", place, once, "earn", json_body=earn_amount)
    yield post(
        "earn_subscription_setting",
        "earn/subscriptions/setting/",
        place,
        once,
        "earn",
        json_body=strings,
    )
    yield signed_get("earn_subscriptions", "earn/subscriptions/", "earn")
    yield signed_get("earn_transactions", "earn/transactions/", "earn")

    # -- travel rule --------------------------------------------------------------------
    yield signed_get("travel_rule_contacts", "travel_rule/contacts/", "travel_rule")
    yield signed_get("travel_rule_contact", "travel_rule/contacts/{contact_uuid}/", "travel_rule")
    yield post(
        "create_travel_rule_contact",
        "travel_rule/contacts/",
        place,
        once,
        "travel_rule",
        json_body=JsonBody(objects=frozenset({"retail_info", "corporate_info"})),
    )


ROUTES: Mapping[str, Route] = {entry.name: entry for entry in _routes()}


def route(name: str) -> Route:
    """The route called ``name``; a typo fails at import time of the module using it."""
    return ROUTES[name]
