"""Bitstamp's WebSocket API v2 as async iterators of typed events.

Most code uses the client's methods (``client.trades("btcusd")``,
``client.local_order_book("btcusd")``, ``client.stream(...)``); :class:`StreamHub` is the
machinery underneath, usable without a client::

    async with StreamHub("wss://ws.bitstamp.net") as hub:
        async for trade in hub.subscribe("live_trades_btcusd"):
            print(trade.id, trade.price, trade.amount)

* :mod:`._channels`: channel names and kinds; :mod:`._events`: the typed events;
* :mod:`._connection`: one socket, liveness; :mod:`._hub`: channels over connections,
  reconnects, handovers, REST refills; :mod:`._buffers`: backpressure;
  :mod:`._subscription`: what a consumer iterates; :mod:`._book`: local order books.
"""

from ._backoff import Backoff
from ._book import LiveOrderBook
from ._buffers import EventBuffer
from ._channels import Channel, ChannelKind, Delivery, channel_of
from ._errors import StreamLaggingError
from ._events import (
    BookDiff,
    BookSnapshot,
    Gap,
    GapReason,
    LiveOrder,
    LiveTrade,
    MyOrder,
    MyTrade,
    OrderAction,
    SelfTrade,
    StreamEvent,
)
from ._hub import StreamHub, StreamOptions, StreamStats
from ._subscription import Subscription

__all__ = [
    "Backoff",
    "BookDiff",
    "BookSnapshot",
    "Channel",
    "ChannelKind",
    "Delivery",
    "EventBuffer",
    "Gap",
    "GapReason",
    "LiveOrder",
    "LiveOrderBook",
    "LiveTrade",
    "MyOrder",
    "MyTrade",
    "OrderAction",
    "SelfTrade",
    "StreamEvent",
    "StreamHub",
    "StreamLaggingError",
    "StreamOptions",
    "StreamStats",
    "Subscription",
    "channel_of",
]
