"""One command's connection to an exchange: the client, and the embedded emulator when
``--emulator`` asks for one."""

from __future__ import annotations

import contextlib
import secrets
import string
from collections.abc import AsyncIterator
from dataclasses import dataclass

from .._client import Client
from .._retry import RetryPolicy
from .._transport import Timeouts
from ..testing import FakeBitstamp
from ._config import Settings

__all__ = ["EMULATOR_BALANCES", "Connection", "StreamingClient", "connect", "embedded_emulator"]

EMULATOR_BALANCES = {"usd": "100000", "eur": "100000", "btc": "10", "eth": "100"}
_ALPHANUMERIC = string.ascii_letters + string.digits


# The name commands use for the client (streams included): the library's Client itself.
StreamingClient = Client


@dataclass(frozen=True)
class Connection:
    """What a command runs against."""

    client: StreamingClient
    settings: Settings
    exchange: FakeBitstamp | None  # the embedded emulator, if any


def generated_key(length: int = 32) -> str:
    """A random API key or secret (letters and digits), for emulator accounts."""
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


@contextlib.asynccontextmanager
async def embedded_emulator(
    *, speed: float = 1.0, message_rate: float = 2.0, seed: int = 1
) -> AsyncIterator[tuple[FakeBitstamp, Settings]]:
    """A local emulator with a living market and one funded account, for this process."""
    async with FakeBitstamp(speed=speed, message_rate=message_rate, seed=seed) as exchange:
        key, secret = generated_key(), generated_key()
        exchange.add_account(key, secret, EMULATOR_BALANCES)
        exchange.run_market()
        yield (
            exchange,
            Settings(
                base_url=exchange.url,
                ws_url=exchange.ws_url,
                api_key=key,
                api_secret=secret,
                keys_from="the emulator",
            ),
        )


@contextlib.asynccontextmanager
async def connect(
    settings: Settings,
    *,
    emulator: bool = False,
    timeout: float = 10.0,
    retries: int = 4,
    rate_limits: tuple[tuple[int, float], ...] | None = None,
) -> AsyncIterator[Connection]:
    """The client of one command (and its emulator with ``emulator``), closed after."""
    async with contextlib.AsyncExitStack() as stack:
        exchange: FakeBitstamp | None = None
        if emulator:
            # Its own account and addresses: configured keys belong to another exchange.
            exchange, settings = await stack.enter_async_context(embedded_emulator())
        extra = {} if rate_limits is None else {"rate_limits": rate_limits}
        client = StreamingClient(
            settings.api_key,
            settings.api_secret,
            base_url=settings.base_url,
            ws_url=settings.ws_url,
            timeouts=Timeouts(total=timeout, connect=min(timeout, 5.0)),
            retry=RetryPolicy(max_attempts=retries),
            **extra,  # type: ignore[arg-type]
        )
        await stack.enter_async_context(client)
        yield Connection(client, settings, exchange)
