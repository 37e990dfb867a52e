"""``aiobitstamp emulator``: the local exchange as a process, for bots in any language.

The first line on stdout names both addresses, so a parent process can read it::

    aiobitstamp emulator serving http://127.0.0.1:8765 ws://127.0.0.1:40215

then one line per account (``account KEY SECRET user_id N``; a secret given with
``--account`` shows as ``<as given>``). With ``--json`` the same facts are one JSON line.
It serves until Ctrl-C or SIGTERM and exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ..testing import FakeBitstamp
from ._errors import CommandError
from ._output import Output
from ._session import EMULATOR_BALANCES, generated_key

__all__ = ["EmulatorOptions", "serve"]


@dataclass(frozen=True)
class EmulatorOptions:
    host: str
    port: int
    accounts: tuple[tuple[str, str, bool], ...]  # key, secret, generated
    balances: dict[str, str]
    seed: int
    message_rate: float
    speed: float
    rate_limits: tuple[tuple[int, float], ...] | None

    @classmethod
    def parse(
        cls,
        *,
        host: str,
        port: int,
        accounts: Sequence[str],
        balances: Sequence[str],
        seed: int,
        message_rate: float,
        speed: float,
        rate_limits: Sequence[str],
        no_rate_limit: bool,
    ) -> EmulatorOptions:
        """Check the option texts; a bad one raises ``CommandError`` saying why."""
        parsed_accounts = []
        for text in accounts:
            key, sep, secret = text.partition(":")
            if not sep or not key or not secret:
                raise CommandError("--account takes KEY:SECRET")
            if not (key.isascii() and key.isalnum()):
                raise CommandError("--account: API keys are ASCII letters and digits only")
            parsed_accounts.append((key, secret, False))
        if not parsed_accounts:
            parsed_accounts.append((generated_key(), generated_key(), True))
        parsed_balances = {}
        for text in balances:
            currency, sep, amount = text.partition("=")
            try:
                value = Decimal(amount)
            except InvalidOperation:
                value = Decimal(-1)
            if not sep or not currency.isalnum() or not value.is_finite() or value < 0:
                raise CommandError(f"--balance takes CURRENCY=AMOUNT (AMOUNT >= 0), got {text!r}")
            parsed_balances[currency.lower()] = amount
        limits: list[tuple[int, float]] = []
        for text in rate_limits:
            count, sep, seconds = text.partition("/")
            try:
                limit = (int(count), float(seconds))
            except ValueError:
                limit = (0, 0.0)
            if not sep or limit[0] < 1 or not limit[1] > 0:
                raise CommandError(f"--rate-limit takes COUNT/SECONDS, got {text!r}")
            limits.append(limit)
        if no_rate_limit and limits:
            raise CommandError("--rate-limit and --no-rate-limit contradict each other")
        chosen: tuple[tuple[int, float], ...] | None = (
            None if no_rate_limit else tuple(limits) or ((400, 1.0), (10_000, 600.0))
        )
        return cls(
            host=host,
            port=port,
            accounts=tuple(parsed_accounts),
            balances=parsed_balances or dict(EMULATOR_BALANCES),
            seed=seed,
            message_rate=message_rate,
            speed=speed,
            rate_limits=chosen,
        )


async def serve(output: Output, options: EmulatorOptions) -> None:
    """Serve until SIGINT or SIGTERM."""
    exchange = FakeBitstamp(
        host=options.host,
        port=options.port,
        rate_limits=options.rate_limits,
        seed=options.seed,
        message_rate=options.message_rate,
        speed=options.speed,
    )
    try:
        await exchange.start()
    except OSError as error:
        raise CommandError(
            f"cannot listen on {options.host}:{options.port}: {error.strerror or error}"
        ) from None
    try:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # Windows: KeyboardInterrupt
                loop.add_signal_handler(signum, stop.set)
        shown: list[tuple[str, str | None, int]] = []
        for key, secret, generated in options.accounts:
            account = exchange.add_account(key, secret, options.balances)
            # A generated secret must be shown or nobody could use it; a given one is not
            # echoed back into terminals and logs.
            shown.append((key, secret if generated else None, account.user_id))
        exchange.run_market()
        if output.json:
            output.json_document(
                {
                    "url": exchange.url,
                    "ws_url": exchange.ws_url,
                    "accounts": [
                        {"api_key": name, "api_secret": shown_secret, "user_id": user_id}
                        for name, shown_secret, user_id in shown
                    ],
                }
            )
        else:
            output.stdout.write(f"aiobitstamp emulator serving {exchange.url} {exchange.ws_url}\n")
            for name, shown_secret, user_id in shown:
                shown_text = shown_secret or "<as given>"
                output.stdout.write(f"account {name} {shown_text} user_id {user_id}\n")
            output.stdout.flush()
            output.note(
                f"use: --base-url {exchange.url} --ws-url {exchange.ws_url} with "
                "BITSTAMP_API_KEY and BITSTAMP_API_SECRET set; Ctrl-C stops"
            )
        await stop.wait()
    finally:
        await exchange.close()
