"""The client's WebSocket streams: typed async iterators per channel and live order books.

The machinery is :class:`~aiobitstamp.streams.StreamHub`, built on first use from the
client's own REST methods (a websockets token for private channels, ``transactions/`` to
refill trades after a drop, ``order_book/`` for local books) and closed with the client:
every stream then ends with ``ClientClosedError``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, Protocol, cast

import aiohttp

from .._models import OrderBook, Rows, Trade, WebSocketToken
from ..streams import (
    BookDiff,
    BookSnapshot,
    Channel,
    ChannelKind,
    Gap,
    LiveOrder,
    LiveTrade,
    MyOrder,
    MyTrade,
    SelfTrade,
    StreamEvent,
    StreamHub,
    StreamOptions,
    Subscription,
)
from ..streams._book import LiveOrderBook, rows_of
from ..streams._connection import Pacer

__all__ = ["StreamsAPI"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


class _RestSide(Protocol):
    """The client methods the streams call."""

    async def transactions(
        self, pair: str, time: Literal["minute", "hour", "day"] = "hour"
    ) -> Rows[Trade]: ...

    async def order_book(self, pair: str, group: Literal[0, 1, 2] = 1) -> OrderBook: ...

    async def websockets_token(self) -> WebSocketToken: ...


def _micros(when: datetime) -> int:
    return (when - _EPOCH) // _MICROSECOND


class StreamsAPI:
    """WebSocket streams of the client (mixed into ``Client``).

    Channels are the exchange's (``live_trades_btcusd``...); private ones are named
    without the user id (``private-my_orders_btcusd``) and use a fresh websockets token on
    every connection. Each per-channel method returns a :class:`Subscription`: iterate it
    with ``async for`` (it subscribes on first use), or use ``async with`` to wait for the
    exchange's acknowledgement first. See :class:`~aiobitstamp.streams.StreamHub` for the
    reconnect policy and :class:`Subscription` for backpressure.
    """

    _ws_url: str
    _stream_hub: StreamHub | None
    _stream_settings: tuple[
        StreamOptions | None, Pacer | None, Callable[[], aiohttp.ClientSession] | None
    ]
    _register_closer: Callable[[Callable[[], Awaitable[None]]], None]  # Client's

    # -- configuration ------------------------------------------------------------------

    def configure_streams(
        self,
        *,
        options: StreamOptions | None = None,
        pacer: Pacer | None = None,
        session_factory: Callable[[], aiohttp.ClientSession] | None = None,
    ) -> None:
        """Tune the streams before the first one starts: ``options`` (heartbeats,
        timeouts, channels per connection, buffer size...), the subscription ``pacer``
        (an ``aiolimiter.AsyncLimiter``), the aiohttp session factory."""
        if getattr(self, "_stream_hub", None) is not None:
            raise RuntimeError("configure_streams() must come before the first stream")
        self._stream_settings = (options, pacer, session_factory)

    @property
    def stream_hub(self) -> StreamHub:
        """The hub behind every stream of this client (made on first use): its ``stats``
        count reconnects, handovers, malformed frames, refilled trades and gaps."""
        hub: StreamHub | None = getattr(self, "_stream_hub", None)
        if hub is None:
            settings = getattr(self, "_stream_settings", (None, None, None))
            options, pacer, session_factory = settings
            rest = cast(_RestSide, self)

            async def token() -> tuple[str, str]:
                issued = await rest.websockets_token()
                return issued.token, issued.user_id

            async def trades(pair: str, window: str) -> Sequence[Trade]:
                span = cast(Literal["minute", "hour", "day"], window)
                return list(await rest.transactions(pair, time=span))

            async def book(pair: str) -> tuple[int, list[Any], list[Any]]:
                snapshot = await rest.order_book(pair)
                return (
                    _micros(snapshot.microtimestamp),
                    snapshot.bids.raw_rows,
                    snapshot.asks.raw_rows,
                )

            hub = StreamHub(
                self._ws_url,
                session_factory=session_factory,
                token_provider=token,
                rest_trades=trades,
                rest_book=book,
                pacer=pacer,
                options=options,
            )
            self._register_closer(hub.aclose)  # raises ClientClosedError once closed
            self._stream_hub = hub
        return hub

    # -- streams ------------------------------------------------------------------------

    def stream(self, *channels: str, buffer_size: int | None = None) -> Subscription[StreamEvent]:
        """Typed events of any channels, in order per channel.

        >>> async with client.stream("live_trades_btcusd", "live_orders_ethusd") as events:
        ...     async for event in events:  # doctest: +SKIP
        ...         print(type(event).__name__, event.channel)
        """
        return self.stream_hub.subscribe(*channels, buffer_size=buffer_size)

    def _channel(self, kind: ChannelKind, pair: str, buffer_size: int | None) -> Subscription[Any]:
        return self.stream_hub.subscribe(Channel.of(kind, pair), buffer_size=buffer_size)

    def trades(self, pair: str, *, buffer_size: int | None = None) -> Subscription[LiveTrade | Gap]:
        """Every public trade of ``pair`` as it happens (``live_trades_``).

        >>> async for trade in client.trades("btcusd"):  # doctest: +SKIP
        ...     print(trade.id, trade.price, trade.amount, trade.side)

        No trade is lost or repeated across reconnects: after a drop the hole is refilled
        from ``transactions/`` (``trade.recovered``); a hole older than a day arrives as a
        :class:`~aiobitstamp.streams.Gap`.
        """
        return self._channel(ChannelKind.LIVE_TRADES, pair, buffer_size)

    def orders(self, pair: str, *, buffer_size: int | None = None) -> Subscription[LiveOrder | Gap]:
        """Every order created, changed or deleted in ``pair``'s book (``live_orders_``);
        a :class:`~aiobitstamp.streams.Gap` after a reconnect that may have lost some."""
        return self._channel(ChannelKind.LIVE_ORDERS, pair, buffer_size)

    def order_book_snapshots(self, pair: str) -> Subscription[BookSnapshot]:
        """Top-100 books of ``pair`` (``order_book_``), newest only for a slow consumer."""
        return self._channel(ChannelKind.ORDER_BOOK, pair, None)

    def detail_order_book_snapshots(self, pair: str) -> Subscription[BookSnapshot]:
        """Top-100 orders of ``pair`` with ids (``detail_order_book_``), newest only."""
        return self._channel(ChannelKind.DETAIL_ORDER_BOOK, pair, None)

    def book_diffs(
        self, pair: str, *, buffer_size: int | None = None
    ) -> Subscription[BookDiff | Gap]:
        """Changed price levels of ``pair`` (``diff_order_book_``). For a maintained book
        use :meth:`local_order_book`."""
        return self._channel(ChannelKind.DIFF_ORDER_BOOK, pair, buffer_size)

    def my_orders(
        self, pair: str, *, buffer_size: int | None = None
    ) -> Subscription[MyOrder | Gap]:
        """Your orders in ``pair`` changing (``private-my_orders_``; needs API keys)."""
        return self._channel(ChannelKind.MY_ORDERS, pair, buffer_size)

    def my_trades(
        self, pair: str, *, buffer_size: int | None = None
    ) -> Subscription[MyTrade | Gap]:
        """Your fills in ``pair`` (``private-my_trades_``; needs API keys)."""
        return self._channel(ChannelKind.MY_TRADES, pair, buffer_size)

    def my_self_trades(
        self, pair: str, *, buffer_size: int | None = None
    ) -> Subscription[SelfTrade | Gap]:
        """Self-trade notices in ``pair`` (``private-live_trades_``; needs API keys)."""
        return self._channel(ChannelKind.MY_SELF_TRADES, pair, buffer_size)

    def local_order_book(
        self,
        pair: str,
        *,
        l3: bool = False,
        audit: bool = False,
        stale_after: float = 10.0,
    ) -> LiveOrderBook:
        """A local order book of ``pair`` kept in sync: REST snapshot plus
        ``diff_order_book_`` (or, with ``l3``, a per-order book from ``live_orders_``).

        >>> async with client.local_order_book("btcusd") as book:  # doctest: +SKIP
        ...     await book.updated()
        ...     print(book.best_bid(), book.best_ask(), book.bids(10))

        ``await client.local_order_book("btcusd")`` works too (then ``await
        book.aclose()``). ``audit`` checks the book against ``order_book_``'s top 100 and
        resyncs on any difference, or when the book falls ``stale_after`` seconds behind.
        ``await book.resync()`` reloads it on demand.
        """
        hub = self.stream_hub
        rest = cast(_RestSide, self)

        async def detail(pair: str) -> tuple[int, list[Any], list[Any]]:
            snapshot = await rest.order_book(pair, group=2)
            return _micros(snapshot.microtimestamp), rows_of(snapshot.bids), rows_of(snapshot.asks)

        assert hub.rest_book is not None
        return LiveOrderBook(
            hub,
            Channel.of(ChannelKind.LIVE_TRADES, pair).pair,
            rest_snapshot=detail if l3 else hub.rest_book,
            l3=l3,
            audit=audit,
            stale_after=stale_after,
        )
