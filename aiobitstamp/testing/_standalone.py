"""Run the emulator as a process: ``python -m aiobitstamp.testing``.

The first line on stdout names the base URL and the accounts, then the process serves until
Ctrl-C or SIGTERM::

    aiobitstamp.testing serving http://127.0.0.1:8765 accounts KEY:SECRET (user_id 1000001)

A parent process can read that line to find the URL (``--port 0`` picks a free port). When
no ``--account`` is given, one is generated; its secret is printed because this is a local
test server, and it is never logged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import secrets
import signal
import ssl
import string
import sys
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from .._auth import QuerySigning
from ._server import FakeBitstamp
from ._switches import Switches

__all__ = ["run_standalone"]

DEFAULT_BALANCES = {"usd": "100000", "eur": "100000", "btc": "10", "eth": "100"}
_ALPHANUMERIC = string.ascii_letters + string.digits


def _generated(length: int) -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


def _account(text: str) -> tuple[str, str]:
    key, sep, secret = text.partition(":")
    if not sep or not key or not secret:
        raise argparse.ArgumentTypeError(f"expected KEY:SECRET, got {text!r}")
    if not (key.isascii() and key.isalnum()):
        raise argparse.ArgumentTypeError("API keys are ASCII letters and digits only")
    return key, secret


def _balance(text: str) -> tuple[str, str]:
    currency, sep, amount = text.partition("=")
    try:
        Decimal(amount)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"expected CURRENCY=AMOUNT, got {text!r}") from None
    if not sep or not currency:
        raise argparse.ArgumentTypeError(f"expected CURRENCY=AMOUNT, got {text!r}")
    return currency.lower(), amount


def _rate_limit(text: str) -> tuple[int, float]:
    count, sep, seconds = text.partition("/")
    try:
        limit = (int(count), float(seconds))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected COUNT/SECONDS, got {text!r}") from None
    if not sep or limit[0] < 1 or limit[1] <= 0:
        raise argparse.ArgumentTypeError(f"expected COUNT/SECONDS, got {text!r}")
    return limit


_SWITCH_FIELDS = {f.name: f for f in dataclasses.fields(Switches)}


def _switch(text: str) -> tuple[str, object]:
    name, sep, raw = text.partition("=")
    field = _SWITCH_FIELDS.get(name)
    if not sep or field is None:
        known = ", ".join(sorted(_SWITCH_FIELDS))
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE with NAME one of: {known}")
    default = field.default
    if isinstance(default, bool):
        if raw.lower() not in ("true", "false", "1", "0"):
            raise argparse.ArgumentTypeError(f"{name} takes true or false")
        return name, raw.lower() in ("true", "1")
    if isinstance(default, float):
        try:
            return name, float(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} takes a number") from None
    return name, raw


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def _speed(text: str) -> float:
    value = _rate(text)
    if value == 0:
        raise argparse.ArgumentTypeError("the speed must be above 0")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m aiobitstamp.testing",
        description="Run a local Bitstamp REST v2 emulator for testing trading bots.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument(
        "--account",
        type=_account,
        action="append",
        default=[],
        metavar="KEY:SECRET",
        help="an API key and secret to accept (repeatable; default: one generated)",
    )
    parser.add_argument(
        "--balance",
        type=_balance,
        action="append",
        default=[],
        metavar="CUR=AMOUNT",
        help="starting balance of every account (repeatable; default: a funded account)",
    )
    limits = parser.add_mutually_exclusive_group()
    limits.add_argument(
        "--rate-limit",
        type=_rate_limit,
        action="append",
        metavar="COUNT/SECONDS",
        help="a sliding-window limit (repeatable; default 400/1 and 10000/600)",
    )
    limits.add_argument("--no-rate-limit", action="store_true")
    parser.add_argument("--rate-limit-scope", choices=("ip", "key"), default="ip")
    parser.add_argument(
        "--query-signing",
        choices=("without", "with"),
        default="without",
        help="whether a signed query string includes its '?' (unconfirmed at the exchange)",
    )
    parser.add_argument("--book-depth", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--message-rate",
        type=_rate,
        default=2.0,
        help="market-feed events per simulated second per market (0 freezes the markets)",
    )
    parser.add_argument(
        "--speed", type=_speed, default=1.0, help="simulated seconds per wall-clock second"
    )
    parser.add_argument(
        "--switch",
        type=_switch,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a disputed behaviour (see aiobitstamp.testing.Switches), e.g. ohlc_start_wins=true",
    )
    parser.add_argument("--certfile", help="serve HTTPS with this certificate chain (PEM)")
    parser.add_argument("--keyfile", help="private key of --certfile (PEM)")
    return parser


async def _serve(args: argparse.Namespace) -> None:
    default_limits = [(400, 1.0), (10_000, 600.0)]
    rate_limits = None if args.no_rate_limit else (args.rate_limit or default_limits)
    ssl_context = None
    if args.certfile:
        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_context.load_cert_chain(args.certfile, args.keyfile)
    fake = FakeBitstamp(
        host=args.host,
        port=args.port,
        rate_limits=rate_limits,
        rate_limit_scope=args.rate_limit_scope,
        query_signing=QuerySigning(args.query_signing),
        ssl_context=ssl_context,
        book_depth=args.book_depth,
        seed=args.seed,
        message_rate=args.message_rate,
        speed=args.speed,
        switches=Switches(**dict(args.switch)),
    )
    balances = dict(args.balance) or DEFAULT_BALANCES
    credentials = args.account or [(_generated(32), _generated(32))]
    async with fake:
        accounts = [fake.add_account(key, secret, balances) for key, secret in credentials]
        # A generated secret must be shown, or nobody could use it; one the caller gave is
        # not echoed back into terminals and logs.
        shown = ", ".join(
            f"{account.api_key}:{secret if not args.account else '<as given>'} "
            f"(user_id {account.user_id})"
            for account, (_, secret) in zip(accounts, credentials, strict=True)
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        # Handlers first: a parent may signal as soon as it has read the line below.
        for signum in (signal.SIGINT, signal.SIGTERM):
            # Not available on Windows: Ctrl-C then arrives as KeyboardInterrupt.
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, stop.set)
        print(f"aiobitstamp.testing serving {fake.url} accounts {shown}", flush=True)
        await stop.wait()


def run_standalone(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), serve until interrupted, return 0.

    This is what ``python -m aiobitstamp.testing`` runs; a CLI can call it directly.
    """
    args = _parser().parse_args(argv)
    if args.keyfile and not args.certfile:
        print("--keyfile needs --certfile", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))
    return 0
