"""Behaviours the sources disagree on or leave unconfirmed, as explicit switches.

Each field is one such behaviour; its default is the documented reading (the fact sheet
``bitstamp-api.md`` and Bitstamp's own spec, where they speak), the other value the reading
some client or older document relies on. Flip a switch to test a client against both::

    fake = FakeBitstamp(switches=Switches(ohlc_start_wins=True))
    fake.switches.open_orders_cache_seconds = 0  # any time, except ``high_ids``
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["SPEC_JSON_BODY_PATHS", "Switches"]

# The POST operations whose body Bitstamp's official OpenAPI spec declares
# application/json (reference SOURCE.txt, caveat 6), as paths under /api/v2/. The fact
# sheet says every private body is form-encoded; ``spec_json_bodies`` chooses.
SPEC_JSON_BODY_PATHS = frozenset(
    {
        "{currency}_address/",
        "earn/subscribe/",
        "earn/unsubscribe/",
        "earn/subscriptions/setting/",
        "fees/withdrawal/{currency}/",
        "order_status/",
        "revoke_all_api_keys/",
        "travel_rule/contacts/",
    }
)


@dataclass
class Switches:
    """The emulator's switches for disputed or unconfirmed exchange behaviour.

    * ``ohlc_start_wins``: with both ``start`` and ``end``, ``ohlc/`` answers the ``limit``
      candles from ``start`` (capped at ``end``). Default False: Bitstamp documents that
      "if both start and end are posted, end will be used" (the candles ending at ``end``).
    * ``open_orders_cache_seconds``: ``open_orders/`` answers are cached this long per
      account and path, as the doc notes ("cached for 10 seconds"); 0 disables the cache.
    * ``instant_buy_amount_in_counter``: ``buy/instant/`` reads ``amount`` as the counter
      currency to spend (fact sheet, unconfirmed); False reads it as base currency.
    * ``my_markets_method``: the verb ``my_markets/`` answers to. "POST" (default, signed
      form, as JKorf sends it) or "GET" (signed, as the generated spec lists it).
    * ``trading_fees_as_list``: ``fees`` in ``fees/trading/`` is a one-element list
      ``[{"maker", "taker"}]`` (the spec's ``[Fee]``, older ccxt) instead of the object
      ``{"maker", "taker"}`` newer ccxt reads (default).
    * ``cancel_numbers_as_strings``: ``cancel_order/`` and ``cancel_all_orders/`` send
      ``amount`` and ``price`` as numeric strings (a ccxt comment) instead of JSON numbers
      (default: the spec's ``Number``; ids and ``type`` stay numbers either way).
    * ``strict_booleans``: order flags accept only ``True``/``False`` (the doc's example
      value) and refuse anything else with 400.001; default False reads them as Django
      does (``""``, ``false``, ``0`` are false, anything else true).
    * ``user_transactions_until_id``: ``user_transactions/`` honours ``until_id``
      (unconfirmed there; seen only on ``account_order_data/``). Default False ignores it.
    * ``open_orders_spot_fields``: open orders carry ``amount_at_create`` and ``market``
      (in the spec, unconfirmed for spot); False leaves them out.
    * ``order_book_group2_ids``: ``order_book/?group=2`` lists one row per order with its id
      (as clients that read it like the WebSocket detail book expect; default); False
      aggregates by price with two more decimal places (the third-party spec's words).
    * ``spec_json_bodies``: the operations in ``SPEC_JSON_BODY_PATHS`` also accept an
      ``application/json`` body (the spec's reading; numbers, strings and nested objects).
      Default False: every private body must be form-encoded, anything else is API0019
      "Content-Type header not accepted" (the fact sheet, section b).
    * ``high_ids``: order and trade ids start above 2**53 (as on newer markets), so JSON
      numbers no longer fit a double. Read when a market comes alive: set it in the
      constructor.
    """

    ohlc_start_wins: bool = False
    open_orders_cache_seconds: float = 10.0
    instant_buy_amount_in_counter: bool = True
    my_markets_method: Literal["POST", "GET"] = "POST"
    trading_fees_as_list: bool = False
    cancel_numbers_as_strings: bool = False
    strict_booleans: bool = False
    user_transactions_until_id: bool = False
    open_orders_spot_fields: bool = True
    order_book_group2_ids: bool = True
    spec_json_bodies: bool = False
    high_ids: bool = False
