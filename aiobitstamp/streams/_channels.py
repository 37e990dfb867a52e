"""Channel names: what each WebSocket channel is, how it is spelled on the wire, and how a
subscriber's buffer treats its events.

A *channel* here is the logical name a caller asks for, exactly as the exchange spells it
for public channels (``live_trades_btcusd``) and without the ``-{user_id}`` suffix for
private ones (``private-my_orders_btcusd``); the suffix is added per connection, with the
user id of that connection's fresh websockets token.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from .._exceptions import InvalidParameterError

__all__ = ["Channel", "ChannelKind", "Delivery", "channel_of"]

# Client frames must stay under 512 bytes (the exchange closes a connection with 1009 on
# a longer one); a subscribe frame is the channel name plus at most this much.
MAX_FRAME_BYTES = 512
_FRAME_OVERHEAD = len('{"event":"bts:subscribe","data":{"channel":"","auth":""}}') + 64
_PAIR = re.compile(r"[a-z0-9]+(?:-perp)?")


class Delivery(enum.Enum):
    """How a subscriber's bounded buffer treats a channel's events (see ``_buffers``)."""

    LOSSLESS = "lossless"  # every event, in order; a consumer too far behind gets an error
    LATEST = "latest"  # full snapshots: only the newest one waits for the consumer


class ChannelKind(enum.Enum):
    """Every channel family the stream client speaks; the value is the wire prefix."""

    LIVE_TRADES = "live_trades_"
    LIVE_ORDERS = "live_orders_"
    ORDER_BOOK = "order_book_"
    DETAIL_ORDER_BOOK = "detail_order_book_"
    DIFF_ORDER_BOOK = "diff_order_book_"
    MY_ORDERS = "private-my_orders_"
    MY_TRADES = "private-my_trades_"
    MY_SELF_TRADES = "private-live_trades_"

    @property
    def private(self) -> bool:
        """True for channels that need a websockets token and a ``-{user_id}`` suffix."""
        return self.value.startswith("private-")

    @property
    def delivery(self) -> Delivery:
        """Full-book snapshots keep the latest; everything else is lossless."""
        if self is ChannelKind.ORDER_BOOK or self is ChannelKind.DETAIL_ORDER_BOOK:
            return Delivery.LATEST
        return Delivery.LOSSLESS


_BY_PREFIX = tuple(ChannelKind)


@dataclass(frozen=True, slots=True)
class Channel:
    """One logical channel: its kind, market and name (without any user id suffix)."""

    kind: ChannelKind
    pair: str
    name: str

    @classmethod
    def of(cls, kind: ChannelKind, pair: str) -> Channel:
        """The channel of ``kind`` for market ``pair`` (e.g. ``"btcusd"``)."""
        if not isinstance(pair, str) or _PAIR.fullmatch(pair) is None:
            raise InvalidParameterError(
                f"a market symbol is lower-case letters and digits like 'btcusd', got {pair!r}"
            )
        name = kind.value + pair
        if len(name.encode()) + _FRAME_OVERHEAD >= MAX_FRAME_BYTES:
            raise InvalidParameterError(f"channel name too long for a 512-byte frame: {name!r}")
        return cls(kind, pair, name)

    def wire_name(self, user_id: str | None) -> str:
        """The name sent to the exchange: private channels end in ``-{user_id}``."""
        if self.kind.private:
            if user_id is None:
                raise InvalidParameterError(f"{self.name} needs the user id of a token")
            return f"{self.name}-{user_id}"
        return self.name

    def __str__(self) -> str:
        return self.name


def channel_of(name: str | Channel) -> Channel:
    """Parse a channel name such as ``"live_trades_btcusd"`` or ``"private-my_orders_btcusd"``.

    A private name may carry its ``-{user_id}`` suffix; it is dropped (the suffix of each
    connection's token is used instead).
    """
    if isinstance(name, Channel):
        return name
    if not isinstance(name, str):
        raise InvalidParameterError(f"a channel name is a string, got {name!r}")
    for kind in _BY_PREFIX:
        if name.startswith(kind.value):
            pair = name[len(kind.value) :]
            if kind.private:
                market, dash, user = pair.rpartition("-")
                if dash and user.isdigit():
                    pair = market
            return Channel.of(kind, pair)
    known = ", ".join(kind.value + "<pair>" for kind in ChannelKind)
    raise InvalidParameterError(f"unknown channel {name!r}; expected one of {known}")
