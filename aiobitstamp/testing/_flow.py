"""The synthetic participants that keep an emulated market alive.

Each market has one ``SyntheticFlow``: a schedule of what the other traders do, in
simulated time, deterministic from the seed. It decides; the matching engine executes, so
synthetic orders match, rest, fill users' orders and print trades exactly as users' do.

* **Fair price.** A hidden value the participants agree on: the synthetic history's path
  (``_market_data``, so the living market continues the chart it started from) times
  ``exp(u)``, where ``u`` is an Ornstein-Uhlenbeck random walk (about 1.5% a day, pulled
  back with a two-hour half-life).
* **Market makers** post limit orders around the fair price, a little outside half the
  spread, never crossing the book (post-only); each order lives an exponentially
  distributed time (mean 90 s) and is then cancelled if still resting. They post more on
  the side where fewer of their orders rest, so a book eaten by a sweep refills.
* **Takers** arrive as a Poisson process and trade immediately-or-cancel against the
  book: more often on the side that moves the book towards the fair price, up to a little
  beyond it, so stale quotes are taken and the book follows the fair price.
* **Sweeps**, rare, take several whole levels at once.

``message_rate`` sets all three rates so that the market feed carries roughly that many
events per simulated second (an order posted or cancelled is two events, a taker about
four); 0 freezes the market.
"""

from __future__ import annotations

import heapq
import math
import random
from typing import TYPE_CHECKING, Final

from ._order_book import BUY, SELL, OrderBook, half_spread

if TYPE_CHECKING:
    from ._market_data import MarketData, MarketSpec
    from ._order_book import BookEntry

__all__ = ["CANCEL", "EXPIRE", "MAKER", "NEVER", "SWEEP", "TAKER", "SyntheticFlow"]

MAKER, TAKER, SWEEP, CANCEL, EXPIRE = range(5)
NEVER: Final = 2**62
# Shares of the message rate, in actions per feed event (see the module doc).
_MAKER_SHARE: Final = 0.21
_TAKER_SHARE: Final = 0.07
_SWEEP_SHARE: Final = 1 / 3000
_MAKER_LIFETIME_S: Final = 90.0
_DAILY_VOLATILITY: Final = 0.015
_HALF_LIFE_S: Final = 7200.0
_SIGMA: Final = _DAILY_VOLATILITY / math.sqrt(86400.0)
_THETA: Final = math.log(2.0) / _HALF_LIFE_S


class SyntheticFlow:
    """What the synthetic participants of one market do, and when."""

    __slots__ = (
        "_alive",
        "_counts",
        "_fair_us",
        "_generation",
        "_heap",
        "_history",
        "_market",
        "_mean_extra",
        "_rates",
        "_rng",
        "_seq",
        "_spread",
        "_tick_value",
        "_u",
    )

    def __init__(
        self,
        market: MarketSpec,
        history: MarketData,
        *,
        seed: int,
        start_us: int,
        centre: int,
        message_rate: float,
    ) -> None:
        self._market = market
        self._history = history
        self._rng = random.Random(f"{seed}:{market.symbol}:flow")
        self._heap: list[tuple[int, int, int, object]] = []
        self._seq = 0
        self._generation = 0
        self._u = 0.0
        self._fair_us = start_us
        self._spread = half_spread(market, centre)
        # How far beyond half the spread makers quote, on average, in ticks.
        self._mean_extra = max(1.0, centre * 0.0003)
        # Counter value of one tick times one base unit, for order sizes.
        self._tick_value = 10.0 ** -(market.counter_decimals + market.base_decimals)
        self._rates = (0.0, 0.0, 0.0)
        self._alive: dict[int, int] = {}  # resting maker order id -> side
        self._counts = [0, 0]
        self.set_rate(message_rate, start_us)

    # -- schedule -----------------------------------------------------------------------

    def set_rate(self, message_rate: float, now_us: int) -> None:
        """Change the pace from ``now_us`` on (arrivals are memoryless: redraw them)."""
        if message_rate < 0 or not math.isfinite(message_rate):
            raise ValueError("message_rate must be a finite number >= 0")
        self._generation += 1
        self._rates = (
            _MAKER_SHARE * message_rate,
            _TAKER_SHARE * message_rate,
            _SWEEP_SHARE * message_rate,
        )
        for kind in (MAKER, TAKER, SWEEP):
            self._arrival(kind, now_us)

    def _arrival(self, kind: int, after_us: int) -> None:
        rate = self._rates[kind]
        if rate > 0:
            delay = self._rng.expovariate(rate)
            self.schedule(after_us + max(1, int(delay * 1e6)), kind, self._generation)

    def schedule(self, us: int, kind: int, payload: object) -> None:
        """Run ``kind`` with ``payload`` at ``us`` (cancels and user expiries come here too)."""
        self._seq += 1
        heapq.heappush(self._heap, (us, self._seq, kind, payload))

    def next_time(self) -> int:
        """When the next event is due, in microseconds (``NEVER`` when none is)."""
        heap = self._heap
        while heap:
            _, _, kind, payload = heap[0]
            if kind <= SWEEP and payload != self._generation:
                heapq.heappop(heap)  # an arrival drawn at a pace since changed
                continue
            return heap[0][0]
        return NEVER

    def pop(self) -> tuple[int, int, object]:
        """The next due event ``(us, kind, payload)``; schedules the next arrival of its kind."""
        self.next_time()
        us, _, kind, payload = heapq.heappop(self._heap)
        if kind <= SWEEP:
            self._arrival(kind, us)
        return us, kind, payload

    # -- the fair price -----------------------------------------------------------------

    def fair(self, us: int) -> float:
        """The fair price at ``us`` in ticks (advances the random walk to ``us``)."""
        elapsed = (us - self._fair_us) / 1e6
        if elapsed > 0:
            decay = math.exp(-_THETA * elapsed)
            spread = _SIGMA * math.sqrt((1.0 - decay * decay) / (2.0 * _THETA))
            self._u = self._u * decay + spread * self._rng.gauss(0.0, 1.0)
            self._fair_us = us
        return self._history.path_price(self._market, us / 1e6) * math.exp(self._u)

    # -- decisions ----------------------------------------------------------------------

    def _amount(self, value: float, price: int) -> int:
        """Base units worth about ``value`` counter currency at ``price`` ticks."""
        return max(1, round(value / (price * self._tick_value)))

    def maker_quote(self, book: OrderBook, us: int) -> tuple[int, int, int, int]:
        """``(side, price, amount, cancel_at_us)`` of a new maker order."""
        rng = self._rng
        fair = self.fair(us)
        thinner = self._counts[SELL] - self._counts[BUY]
        side = BUY if rng.random() < 0.5 + 0.25 * math.tanh(thinner / 8.0) else SELL
        extra = min(rng.expovariate(1.0 / self._mean_extra), 50.0 * self._mean_extra)
        distance = self._spread + extra
        if side == BUY:
            price = math.floor(fair - distance)
            best_ask = book.best_ask()
            if best_ask is not None:
                price = min(price, best_ask - 1)
        else:
            price = math.ceil(fair + distance)
            best_bid = book.best_bid()
            if best_bid is not None:
                price = max(price, best_bid + 1)
        price = max(1, price)
        value = self._market.typical_order_value * math.exp(rng.gauss(0.0, 0.8))
        lifetime = rng.expovariate(1.0 / _MAKER_LIFETIME_S)
        return side, price, self._amount(value, price), us + max(1, int(lifetime * 1e6))

    def _taker_side(self, book: OrderBook, fair: float) -> int:
        bid, ask = book.best_bid(), book.best_ask()
        if bid is None or ask is None:
            return BUY if ask is not None else SELL
        pull = (fair - (bid + ask) / 2.0) / (2.0 * self._spread + 1.0)
        return BUY if self._rng.random() < 0.5 + 0.4 * math.tanh(pull) else SELL

    def taker_order(self, book: OrderBook, us: int) -> tuple[int, int, int] | None:
        """``(side, limit, amount)`` of an immediate-or-cancel taker, or None (empty book)."""
        fair = self.fair(us)
        side = self._taker_side(book, fair)
        value = self._market.typical_order_value * 0.3 * math.exp(self._rng.gauss(0.0, 0.8))
        if side == BUY:
            best = book.best_ask()
            if best is None:
                return None
            limit = max(best, math.ceil(fair + self._spread))
        else:
            best = book.best_bid()
            if best is None:
                return None
            limit = max(1, min(best, math.floor(fair - self._spread)))
        return side, limit, self._amount(value, best)

    def sweep_order(self, book: OrderBook, us: int) -> tuple[int, int] | None:
        """``(side, amount)``: take several whole levels at once, or None (empty book)."""
        fair = self.fair(us)
        side = self._taker_side(book, fair)
        levels = book.aggregated(SELL if side == BUY else BUY, self._rng.randint(3, 12))
        if not levels:
            return None
        return side, sum(amount for _, amount in levels)

    # -- the makers' own orders ---------------------------------------------------------

    def adopt(self, order_id: int, side: int) -> None:
        """A maker order now rests; it counts until it is filled or cancelled."""
        self._alive[order_id] = side
        self._counts[side] += 1

    def forget(self, order_id: int) -> None:
        """A maker order left the book (filled or cancelled); unknown ids are ignored."""
        side = self._alive.pop(order_id, None)
        if side is not None:
            self._counts[side] -= 1

    @staticmethod
    def cancel_target(payload: object) -> tuple[BookEntry, int, int]:
        """``(entry, side, price)`` of a scheduled maker cancel."""
        assert isinstance(payload, tuple)
        entry, side, price = payload
        return entry, side, price
