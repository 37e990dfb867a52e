"""The ``aiobitstamp`` command: options, commands, and how every run ends.

Each command parses its arguments (``_arguments``), opens one client (``_session``), does
its work in one of the concern modules, and ends with an exit code from ``_errors``. This
module holds no business logic.
"""

from __future__ import annotations

import asyncio
import os
import sys
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, NoReturn

import click

from . import _commands, _export
from ._arguments import AMOUNT, CHANNEL, PAIR, POSITIVE, SPEED, STEP, WHEN
from ._config import Settings, load
from ._errors import CommandError, ExitCode, classify, describe
from ._output import Output
from ._session import Connection, connect

__all__ = ["cli", "main"]


class _Finished(Exception):
    """Ends a run with an exit code after its error was reported."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Run:
    """The global options of one invocation."""

    output: Output
    debug: bool
    config: str | None
    base_url: str | None
    ws_url: str | None
    emulator: bool
    timeout: float
    retries: int

    def settings(self) -> Settings:
        return load(config=self.config, base_url=self.base_url, ws_url=self.ws_url)

    def fail(self, error: BaseException) -> NoReturn:
        """Report ``error`` as one line (and its traceback with --debug); end the run."""
        code = classify(error)
        if self.debug or code is ExitCode.INTERNAL:
            if code is ExitCode.INTERNAL and not self.debug:
                self.output.error(
                    f"internal error: {type(error).__name__}: {error} "
                    "(run again with --debug for the traceback, and please report it)",
                    kind=type(error).__name__,
                    code=int(code),
                )
                raise _Finished(code)
            traceback.print_exception(type(error), error, error.__traceback__)
        kind = "Interrupted" if code is ExitCode.INTERRUPTED else type(error).__name__
        message = "interrupted" if code is ExitCode.INTERRUPTED else describe(error)
        self.output.error(message, kind=kind, code=int(code))
        raise _Finished(code)

    def execute(
        self,
        work: Callable[[Connection], Awaitable[None]],
        *,
        rate_limits: tuple[tuple[int, float], ...] | None = None,
    ) -> None:
        """Run ``work`` with a client on the event loop; any failure ends the run."""

        async def main() -> None:
            settings = self.settings()
            async with connect(
                settings,
                emulator=self.emulator,
                timeout=self.timeout,
                retries=self.retries,
                rate_limits=rate_limits,
            ) as connection:
                await work(connection)

        self.run_async(main)

    def run_async(self, main: Callable[[], Awaitable[None]]) -> None:
        try:
            asyncio.run(_as_coroutine(main))
        except _Finished:
            raise
        except BrokenPipeError:
            # The reader went away (`| head`): it has what it wanted. Python would complain
            # again when flushing stdout at exit, so point stdout at nothing first.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise _Finished(ExitCode.OK) from None
        except (Exception, KeyboardInterrupt) as error:
            self.fail(error)


async def _as_coroutine(main: Callable[[], Awaitable[None]]) -> None:
    await main()


pass_run = click.make_pass_decorator(Run)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--json", "json_output", is_flag=True, help="Answer in JSON (JSON Lines for streams)."
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.option("--base-url", metavar="URL", help="The REST API (default https://www.bitstamp.net).")
@click.option("--ws-url", metavar="URL", help="The WebSocket API (default wss://ws.bitstamp.net).")
@click.option(
    "--emulator",
    is_flag=True,
    help="Run against a local emulator started for this command (offline; its own account).",
)
@click.option(
    "--config",
    metavar="FILE",
    help="TOML file with api_key, api_secret, base_url, ws_url "
    "(default ~/.config/aiobitstamp/config.toml; must be chmod 600).",
)
@click.option(
    "--timeout", type=POSITIVE, default=10.0, show_default=True, help="Seconds per request."
)
@click.option(
    "--retries",
    type=click.IntRange(1, 20),
    default=4,
    show_default=True,
    help="Attempts per request (reads and refused connections are retried).",
)
@click.version_option(package_name="aiobitstamp", message="%(prog)s %(version)s")
@click.pass_context
def cli(
    ctx: click.Context,
    json_output: bool,
    debug: bool,
    base_url: str | None,
    ws_url: str | None,
    emulator: bool,
    config: str | None,
    timeout: float,
    retries: int,
) -> None:
    """Bitstamp from the command line: market data, your account, stream capture and
    replay, and a local emulator.

    Keys come from BITSTAMP_API_KEY and BITSTAMP_API_SECRET, or from the config file;
    they are never printed. Exit codes: 0 ok, 2 bad argument, 3 unknown pair/order/file,
    4 keys (missing, refused, or a readable config file), 5 rate limited, 6 network or
    exchange down, 7 refused by the exchange, 8 answer not understood, 1 a bug.
    """
    ctx.obj = Run(
        output=Output(json=json_output),
        debug=debug,
        config=config,
        base_url=base_url,
        ws_url=ws_url,
        emulator=emulator,
        timeout=timeout,
        retries=retries,
    )


# -- market data and account -------------------------------------------------------------


@cli.command()
@click.argument("pairs", nargs=-1, type=PAIR)
@pass_run
def ticker(run: Run, pairs: tuple[str, ...]) -> None:
    """Last price, bid, ask and the day's range of PAIR (every market when none)."""
    run.execute(lambda c: _commands.ticker(c.client, run.output, pairs))


@cli.command()
@click.argument("pair", type=PAIR)
@click.option(
    "--top", type=click.IntRange(1, 1000), default=10, show_default=True, help="Levels per side."
)
@pass_run
def book(run: Run, pair: str, top: int) -> None:
    """The order book of PAIR as a depth ladder: the best TOP levels each side."""
    run.execute(lambda c: _commands.book(c.client, run.output, pair, top))


@cli.command()
@click.argument("pair", type=PAIR)
@click.option(
    "--window",
    type=click.Choice(["minute", "hour", "day"]),
    default="hour",
    show_default=True,
    help="How far back.",
)
@click.option("--limit", type=click.IntRange(1), help="At most this many (newest first).")
@pass_run
def trades(run: Run, pair: str, window: Any, limit: int | None) -> None:
    """Public trades of PAIR, newest first."""
    run.execute(lambda c: _commands.trades(c.client, run.output, pair, window, limit))


@cli.command()
@click.argument("currencies", nargs=-1)
@click.option("--all", "show_all", is_flag=True, help="Include currencies with nothing in them.")
@pass_run
def balance(run: Run, currencies: tuple[str, ...], show_all: bool) -> None:
    """Your balances (needs keys): total, available, and reserved by open orders."""
    codes = tuple(code.lower() for code in currencies)
    run.execute(lambda c: _commands.balance(c.client, run.output, codes, show_all))


@cli.command()
@click.argument("pair", type=PAIR, required=False)
@pass_run
def orders(run: Run, pair: str | None) -> None:
    """Your open orders (needs keys), of PAIR or of every market."""
    run.execute(lambda c: _commands.orders(c.client, run.output, pair))


@cli.command()
@click.argument("pair", type=PAIR, required=False)
@pass_run
def fees(run: Run, pair: str | None) -> None:
    """Your maker and taker fees (needs keys), of PAIR or of every market."""
    run.execute(lambda c: _commands.fees(c.client, run.output, pair))


_FORMAT = click.Choice(["csv", "jsonl", "parquet"])


@cli.command()
@click.argument("pair", type=PAIR)
@click.option(
    "--since",
    type=WHEN,
    required=True,
    help="First candle: 2024-01-31[T12:00Z], unix seconds, or 7d (ago).",
)
@click.option(
    "--until", type=WHEN, default="now", show_default=True, help="Last candle (same forms)."
)
@click.option(
    "--step",
    type=STEP,
    default="1h",
    show_default=True,
    help="Candle length: 1m 3m 5m 15m 30m 1h 2h 4h 6h 12h 1d 3d, or seconds.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE (.csv, .jsonl or .parquet) instead of stdout.",
)
@click.option(
    "--format",
    "fmt",
    type=_FORMAT,
    help="Output format (default: from --out, else CSV; JSON Lines with --json).",
)
@pass_run
def ohlc(
    run: Run,
    pair: str,
    since: datetime,
    until: datetime,
    step: int,
    out: Path | None,
    fmt: str | None,
) -> None:
    """Candles of PAIR over any range, paged 1000 at a time, with a progress bar."""
    chosen = _choose(run, fmt, out)
    run.execute(
        lambda c: _export.ohlc(
            c.client,
            run.output,
            pair=pair,
            step=step,
            since=since,
            until=until,
            out=out,
            fmt=chosen,
        )
    )


@cli.command()
@click.argument("pair", type=PAIR, required=False)
@click.option("--since", type=WHEN, help="From this time (at most 30 days back is sent as a time).")
@click.option("--until", type=WHEN, help="Up to this time.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append to FILE (.csv or .jsonl), resuming after its last row.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl"]),
    help="Output format (default: from --out, else CSV; JSON Lines with --json).",
)
@pass_run
def history(
    run: Run,
    pair: str | None,
    since: datetime | None,
    until: datetime | None,
    out: Path | None,
    fmt: str | None,
) -> None:
    """Your transactions (needs keys), oldest first; resumable into a file."""
    chosen = _choose(run, fmt, out)
    run.execute(
        lambda c: _export.history(
            c.client, run.output, pair=pair, since=since, until=until, out=out, fmt=chosen
        )
    )


def _choose(run: Run, fmt: str | None, out: Path | None) -> _export.Format:
    try:
        return _export.choose_format(fmt, out, json=run.output.json)
    except CommandError as error:
        run.fail(error)


# -- streams -----------------------------------------------------------------------------


@cli.command()
@click.argument("channels", nargs=-1, required=True, type=CHANNEL)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory of rotating gzip JSON Lines files (the default sink).",
)
@click.option(
    "--parquet",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory of rotating Parquet files instead.",
)
@click.option(
    "--redis", "redis_url", metavar="URL", help="A Redis Stream instead (redis://host:6379/0)."
)
@click.option(
    "--stream",
    "stream_key",
    default="aiobitstamp:capture",
    show_default=True,
    help="The Redis Stream's key.",
)
@click.option(
    "--rotate-mb",
    type=POSITIVE,
    default=64.0,
    show_default=True,
    help="Start a new file past this much data (MB, before compression).",
)
@click.option(
    "--rotate-minutes",
    type=POSITIVE,
    default=60.0,
    show_default=True,
    help="Start a new file after this long.",
)
@click.option(
    "--seconds", type=POSITIVE, help="Stop after this long (default: until Ctrl-C or SIGTERM)."
)
@click.option("--max-messages", type=click.IntRange(1), help="Stop after this many messages.")
@pass_run
def record(
    run: Run,
    channels: tuple[str, ...],
    out: Path | None,
    parquet: Path | None,
    redis_url: str | None,
    stream_key: str,
    rotate_mb: float,
    rotate_minutes: float,
    seconds: float | None,
    max_messages: int | None,
) -> None:
    """Capture CHANNELs (live_trades_btcusd, diff_order_book_btcusd, ...) for days.

    Every message is kept with its receive time and the exchange's microtimestamp, across
    reconnects, without duplicates. Run it again on the same output and it continues
    where that output ends.
    """
    from . import _record, _sinks

    chosen = [
        (name, value)
        for name, value in (("--out", out), ("--parquet", parquet), ("--redis", redis_url))
        if value is not None
    ]
    if len(chosen) != 1:
        run.fail(CommandError("give one output: --out DIR, --parquet DIR or --redis URL"))
    kinds: dict[str, Literal["jsonl", "parquet", "redis"]] = {
        "--out": "jsonl",
        "--parquet": "parquet",
        "--redis": "redis",
    }
    spec = _sinks.SinkSpec(
        kind=kinds[chosen[0][0]],
        target=str(chosen[0][1]),
        stream_key=stream_key,
        rotate_bytes=int(rotate_mb * 1_000_000),
        rotate_seconds=rotate_minutes * 60.0,
    )
    run.execute(
        lambda c: _record.record(
            c, run.output, channels, spec, seconds=seconds, max_messages=max_messages
        )
    )


@cli.command()
@click.argument("source")
@click.option(
    "--speed",
    type=SPEED,
    default="max",
    show_default=True,
    help="1 replays at the recorded pace, 10 ten times faster, max without waiting.",
)
@click.option(
    "--channel", "channels", multiple=True, type=CHANNEL, help="Only these channels (repeatable)."
)
@click.option(
    "--stream",
    "stream_key",
    default="aiobitstamp:capture",
    show_default=True,
    help="The Redis Stream's key, when SOURCE is redis://...",
)
@pass_run
def replay(
    run: Run, source: str, speed: float | None, channels: tuple[str, ...], stream_key: str
) -> None:
    """Play a recording (a directory, a file, or redis://...) back as typed stream events."""
    from . import _replay

    run.run_async(lambda: _replay.show(run.output, source, speed, channels, stream_key))


# -- local exchange ----------------------------------------------------------------------


@cli.command()
@click.option(
    "--seconds", type=POSITIVE, default=20.0, show_default=True, help="How long to trade."
)
@click.option(
    "--speed",
    type=POSITIVE,
    default=10.0,
    show_default=True,
    help="Simulated market seconds per real second.",
)
@click.option("--pair", type=PAIR, default="btcusd", show_default=True)
@click.option(
    "--size",
    type=AMOUNT,
    default=Decimal("0.01"),
    show_default=True,
    help="Quote size (base currency).",
)
@click.option("--seed", type=int, default=1, show_default=True, help="The market's random seed.")
@pass_run
def demo(run: Run, seconds: float, speed: float, pair: str, size: Decimal, seed: int) -> None:
    """Market-make on a local emulator for a while, live, then sum it up. Offline."""
    from . import _demo

    run.run_async(
        lambda: _demo.demo(
            run.output, seconds=seconds, speed=speed, pair=pair, size=size, seed=seed
        )
    )


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="0 picks a free port.",
)
@click.option(
    "--account",
    "accounts",
    multiple=True,
    metavar="KEY:SECRET",
    help="An account to accept (repeatable; default: one generated, its secret printed).",
)
@click.option(
    "--balance",
    "balances",
    multiple=True,
    metavar="CUR=AMOUNT",
    help="Starting balance of every account (repeatable).",
)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--message-rate",
    type=click.FloatRange(0),
    default=2.0,
    show_default=True,
    help="Market events per simulated second per market.",
)
@click.option(
    "--speed",
    type=POSITIVE,
    default=1.0,
    show_default=True,
    help="Simulated seconds per real second.",
)
@click.option(
    "--rate-limit",
    "rate_limits",
    multiple=True,
    metavar="COUNT/SECONDS",
    help="A sliding-window limit (repeatable; default 400/1 and 10000/600).",
)
@click.option("--no-rate-limit", is_flag=True)
@pass_run
def emulator(
    run: Run,
    host: str,
    port: int,
    accounts: tuple[str, ...],
    balances: tuple[str, ...],
    seed: int,
    message_rate: float,
    speed: float,
    rate_limits: tuple[str, ...],
    no_rate_limit: bool,
) -> None:
    """Serve the local exchange (REST and WebSocket) until Ctrl-C or SIGTERM.

    Prints its URLs and test keys first (a secret you gave is not echoed)."""
    from . import _emulator

    try:
        options = _emulator.EmulatorOptions.parse(
            host=host,
            port=port,
            accounts=accounts,
            balances=balances,
            seed=seed,
            message_rate=message_rate,
            speed=speed,
            rate_limits=rate_limits,
            no_rate_limit=no_rate_limit,
        )
    except CommandError as error:
        run.fail(error)
    run.run_async(lambda: _emulator.serve(run.output, options))


from .keys import keys as _keys  # noqa: E402 - its commands take the Run defined above

cli.add_command(_keys)


# -- entry point -------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``aiobitstamp`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        cli.main(args=arguments, prog_name="aiobitstamp", standalone_mode=False)
    except _Finished as finished:
        return finished.code
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.exceptions.Abort:
        sys.stderr.write("error: interrupted\n")
        return int(ExitCode.INTERRUPTED)
    except click.ClickException as error:
        _usage_error(error, json="--json" in arguments)
        return int(ExitCode.USAGE) if error.exit_code == 2 else int(error.exit_code)
    return int(ExitCode.OK)


def _usage_error(error: click.ClickException, *, json: bool) -> None:
    message = error.format_message()
    context = getattr(error, "ctx", None)
    if context is not None:
        message += f" (see '{context.command_path} --help')"
    Output(json=json).error(message, kind="UsageError", code=int(ExitCode.USAGE))
