"""The ``aiobitstamp`` command as a user runs it: subprocesses against the ``emulator``
command, their output for people (piped), ``--json``, and the exit code of each kind of
error."""

from __future__ import annotations

import asyncio
import csv
import http.server
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

import aiobitstamp
from aiobitstamp.cli._errors import ExitCode, classify

from ._cli_support import (
    OUTPUTS,
    TEST_KEY,
    TEST_SECRET,
    WRONG_SECRET,
    Emulator,
    assert_no_secret_printed,
    clean_env,
    emulator_process,
    run_cli,
)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def emulator(home: Path) -> Iterator[Emulator]:
    with emulator_process(
        home, "--account", f"{TEST_KEY}:{TEST_SECRET}", "--no-rate-limit"
    ) as running:
        yield running


@pytest.fixture(scope="module", autouse=True)
def _no_secret_in_any_output() -> Iterator[None]:
    yield
    assert_no_secret_printed()


def keyed(home: Path, secret: str = TEST_SECRET) -> dict[str, str]:
    return clean_env(home, BITSTAMP_API_KEY=TEST_KEY, BITSTAMP_API_SECRET=secret)


def one_error_line(completed: subprocess.CompletedProcess[str]) -> str:
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith("error: "), completed.stderr
    return lines[0]


# -- the package --------------------------------------------------------------------------


def test_core_library_never_imports_the_command_line_toolkit() -> None:
    code = (
        "import sys, aiobitstamp, aiobitstamp.streams, aiobitstamp.testing, aiobitstamp.cli\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('click', 'rich', 'pyarrow', 'typer'))\n"
        "print(','.join(loaded))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == ""


def test_help_lists_every_command(home: Path) -> None:
    completed = run_cli("--help", env=clean_env(home))
    assert completed.returncode == 0
    for command in (
        "demo", "ticker", "book", "trades", "balance", "orders", "fees", "ohlc", "history",
        "record", "replay", "emulator",
    ):  # fmt: skip
        assert f"  {command} " in completed.stdout
    version = run_cli("--version", env=clean_env(home))
    assert version.stdout.strip() == f"aiobitstamp {aiobitstamp.__version__}"


def test_console_script_is_installed(home: Path) -> None:
    script = Path(sys.executable).with_name("aiobitstamp")
    completed = subprocess.run(
        [str(script), "--help"], env=clean_env(home), capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0 and "Commands:" in completed.stdout


# -- market data ----------------------------------------------------------------------------


def test_ticker_piped_is_name_value_lines_and_json_is_exact(home: Path, emulator: Emulator) -> None:
    piped = run_cli(*emulator.target(), "ticker", "btcusd", env=clean_env(home))
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr == ""
    fields = dict(line.split("\t") for line in piped.stdout.splitlines())
    assert fields["pair"] == "btcusd"
    assert Decimal(fields["bid"]) <= Decimal(fields["ask"])
    assert "\x1b" not in piped.stdout  # no colour into a pipe

    as_json = run_cli("--json", *emulator.target(), "ticker", "btcusd", env=clean_env(home))
    value = json.loads(as_json.stdout)
    assert isinstance(value["last"], str) and Decimal(value["last"]) > 0
    assert value["timestamp"].endswith("Z")

    several = run_cli(
        "--json", *emulator.target(), "ticker", "btcusd", "ethusd", env=clean_env(home)
    )
    assert [row["pair"] for row in json.loads(several.stdout)] == ["btcusd", "ethusd"]


def test_book_is_a_ladder_of_the_top_levels(home: Path, emulator: Emulator) -> None:
    piped = run_cli(*emulator.target(), "book", "btcusd", "--top", "5", env=clean_env(home))
    assert piped.returncode == 0, piped.stderr
    rows = list(csv.reader(io.StringIO(piped.stdout), delimiter="\t"))
    assert rows[0] == ["side", "price", "amount", "cumulative"]
    asks = [row for row in rows[1:] if row[0] == "ask"]
    bids = [row for row in rows[1:] if row[0] == "bid"]
    assert len(asks) == len(bids) == 5
    assert Decimal(asks[-1][1]) > Decimal(bids[0][1])  # the best ask sits above the best bid
    assert Decimal(bids[-1][3]) == sum(Decimal(row[2]) for row in bids)

    book = json.loads(
        run_cli(
            "--json", *emulator.target(), "book", "btcusd", "--top", "3", env=clean_env(home)
        ).stdout
    )
    assert len(book["bids"]) == len(book["asks"]) == 3
    assert Decimal(book["bids"][0][0]) < Decimal(book["asks"][0][0])


def test_trades_json_newest_first(home: Path, emulator: Emulator) -> None:
    completed = run_cli(
        "--json", *emulator.target(), "trades", "btcusd", "--window", "day", "--limit", "20",
        env=clean_env(home),
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    rows = json.loads(completed.stdout)
    assert 0 < len(rows) <= 20
    assert {row["side"] for row in rows} <= {"buy", "sell"}
    times = [row["time"] for row in rows]
    assert times == sorted(times, reverse=True)


# -- the account ----------------------------------------------------------------------------


def place_order(emulator: Emulator, price: str) -> str:
    async def place() -> str:
        async with aiobitstamp.Client(TEST_KEY, TEST_SECRET, base_url=emulator.url) as client:
            order = await client.buy_limit("btcusd", "0.01", price, client_order_id=None)
            return order.id

    return asyncio.run(place())


def market_buy(emulator: Emulator, count: int) -> None:
    async def buy() -> None:
        async with aiobitstamp.Client(TEST_KEY, TEST_SECRET, base_url=emulator.url) as client:
            for _ in range(count):
                await client.buy_market("btcusd", "0.001")

    asyncio.run(buy())


def test_balance_orders_and_fees_with_keys_from_the_environment(
    home: Path, emulator: Emulator
) -> None:
    balances = json.loads(run_cli("--json", *emulator.target(), "balance", env=keyed(home)).stdout)
    assert {row["currency"] for row in balances} >= {"usd", "btc"}
    usd = json.loads(
        run_cli("--json", *emulator.target(), "balance", "USD", env=keyed(home)).stdout
    )
    assert usd[0]["currency"] == "usd" and Decimal(usd[0]["available"]) > 0

    order_id = place_order(emulator, "1000")
    listed = run_cli(*emulator.target(), "orders", "btcusd", env=keyed(home))
    assert listed.returncode == 0, listed.stderr
    assert order_id in listed.stdout
    as_json = json.loads(run_cli("--json", *emulator.target(), "orders", env=keyed(home)).stdout)
    assert any(row["id"] == order_id and row["side"] == "buy" for row in as_json)

    fees = json.loads(
        run_cli("--json", *emulator.target(), "fees", "btcusd", env=keyed(home)).stdout
    )
    assert fees[0]["market"] == "btcusd" and Decimal(fees[0]["maker"]) >= 0


def test_keys_from_a_private_config_file(home: Path, emulator: Emulator, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'api_key = "{TEST_KEY}"\napi_secret = "{TEST_SECRET}"\n'
        f'base_url = "{emulator.url}"\nws_url = "{emulator.ws_url}"\n'
    )
    config.chmod(0o600)
    completed = run_cli("--json", "--config", str(config), "balance", env=clean_env(home))
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)

    # The default place, ~/.config/aiobitstamp/config.toml, is read without --config.
    default = home / ".config" / "aiobitstamp" / "config.toml"
    default.parent.mkdir(parents=True, exist_ok=True)
    default.write_text(config.read_text())
    default.chmod(0o600)
    try:
        assert run_cli("--json", "balance", env=clean_env(home)).returncode == 0
        default.chmod(0o644)
        refused = run_cli("balance", env=clean_env(home))
        assert refused.returncode == ExitCode.AUTH
        assert "chmod 600" in one_error_line(refused)
    finally:
        default.unlink()

    config.chmod(0o640)
    refused = run_cli("--config", str(config), "balance", env=clean_env(home))
    assert refused.returncode == ExitCode.AUTH

    # A config file in the current directory is never read unless named.
    cwd = tmp_path / "work"
    cwd.mkdir()
    (cwd / "config.toml").write_text(config.read_text())
    (cwd / "config.toml").chmod(0o600)
    ignored = run_cli(*emulator.target(), "balance", env=clean_env(home), cwd=cwd)
    assert ignored.returncode == ExitCode.AUTH
    assert "BITSTAMP_API_KEY" in one_error_line(ignored)


# -- errors and exit codes --------------------------------------------------------------------


def test_bad_arguments_exit_2_with_the_reason(home: Path, emulator: Emulator) -> None:
    env = clean_env(home)
    cases = [
        (["ticker", "btc usd!"], "not a market symbol"),
        (["ohlc", "btcusd", "--since", "yesterday-ish"], "is not a date"),
        (["ohlc", "btcusd", "--since", "1d", "--step", "7m"], "candle length"),
        (["demo", "--size", "-1"], "above 0"),
        (["book", "btcusd", "--top", "0"], "--top"),
        (["nosuchcommand"], "No such command"),
        (["record", "not_a_channel_btcusd", "--out", str(home / "x")], "unknown channel"),
    ]
    for args, reason in cases:
        completed = run_cli(*emulator.target(), *args, env=env)
        assert completed.returncode == ExitCode.USAGE, (args, completed.stderr)
        assert reason in one_error_line(completed), completed.stderr
        assert completed.stdout == ""
    as_json = run_cli("--json", *emulator.target(), "ohlc", "btcusd", "--since", "soon", env=env)
    error = json.loads(as_json.stderr)["error"]
    assert error["exit_code"] == 2 and "is not a date" in error["message"]


def test_unknown_pair_exits_3(home: Path, emulator: Emulator) -> None:
    completed = run_cli(*emulator.target(), "ticker", "dogeeur", env=clean_env(home))
    assert completed.returncode == ExitCode.NOT_FOUND
    assert "dogeeur" in one_error_line(completed)
    as_json = run_cli("--json", *emulator.target(), "book", "dogeeur", env=clean_env(home))
    assert json.loads(as_json.stderr)["error"]["type"] == "UnknownMarketError"


def test_authentication_failures_exit_4(home: Path, emulator: Emulator) -> None:
    missing = run_cli(*emulator.target(), "balance", env=clean_env(home))
    assert missing.returncode == ExitCode.AUTH
    assert "BITSTAMP_API_KEY" in one_error_line(missing)
    wrong = run_cli(*emulator.target(), "balance", env=keyed(home, WRONG_SECRET))
    assert wrong.returncode == ExitCode.AUTH, wrong.stderr
    one_error_line(wrong)
    half = run_cli(*emulator.target(), "balance", env=clean_env(home, BITSTAMP_API_KEY=TEST_KEY))
    assert half.returncode == ExitCode.AUTH
    assert "BITSTAMP_API_SECRET" in one_error_line(half)


def test_network_failure_exits_6(home: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens there now: connection refused.
    completed = run_cli(
        "--base-url", f"http://127.0.0.1:{port}", "--retries", "1", "ticker", "btcusd",
        env=clean_env(home),
    )  # fmt: skip
    assert completed.returncode == ExitCode.NETWORK, completed.stderr
    one_error_line(completed)


def test_rate_limit_exits_5(home: Path) -> None:
    with emulator_process(home, "--rate-limit", "1/60") as limited:
        completed = run_cli(
            *limited.target(), "--retries", "1", "ticker", "btcusd", env=clean_env(home)
        )
    assert completed.returncode == ExitCode.RATE_LIMITED, completed.stderr
    assert "rate limit" in one_error_line(completed)


class _HtmlHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html><body>We'll be right back</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_an_answer_that_is_not_json_exits_8(home: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HtmlHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        completed = run_cli(
            "--base-url", f"http://127.0.0.1:{server.server_address[1]}", "--retries", "1",
            "ticker", "btcusd", env=clean_env(home),
        )  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert completed.returncode == ExitCode.BAD_ANSWER, completed.stderr
    one_error_line(completed)


def test_debug_shows_the_traceback(home: Path, emulator: Emulator) -> None:
    completed = run_cli("--debug", *emulator.target(), "ticker", "dogeeur", env=clean_env(home))
    assert completed.returncode == ExitCode.NOT_FOUND
    assert "Traceback (most recent call last)" in completed.stderr


def test_every_library_error_has_its_exit_code() -> None:
    expected = {
        "UnknownMarketError": ExitCode.NOT_FOUND,
        "MarketNotFoundError": ExitCode.NOT_FOUND,
        "OrderNotFoundError": ExitCode.NOT_FOUND,
        "NotFoundError": ExitCode.NOT_FOUND,
        "InvalidParameterError": ExitCode.USAGE,
        "InvalidCredentialsError": ExitCode.AUTH,
        "MissingCredentialsError": ExitCode.AUTH,
        "AuthenticationError": ExitCode.AUTH,
        "InvalidNonceError": ExitCode.AUTH,
        "TimestampOutOfBoundsError": ExitCode.AUTH,
        "PermissionDeniedError": ExitCode.AUTH,
        "AccountSuspendedError": ExitCode.AUTH,
        "RateLimitError": ExitCode.RATE_LIMITED,
        "TransportError": ExitCode.NETWORK,
        "RequestTimeoutError": ExitCode.NETWORK,
        "ExchangeUnavailableError": ExitCode.NETWORK,
        "BadRequestError": ExitCode.REJECTED,
        "InvalidOrderError": ExitCode.REJECTED,
        "InsufficientFundsError": ExitCode.REJECTED,
        "EndpointUnavailableError": ExitCode.REJECTED,
        "ExchangeError": ExitCode.REJECTED,
        "OrderOutcomeUnknownError": ExitCode.BAD_ANSWER,
        "UnexpectedResponseError": ExitCode.BAD_ANSWER,
        "MalformedFieldError": ExitCode.BAD_ANSWER,
        "ResponseSignatureError": ExitCode.BAD_ANSWER,
    }
    for name, code in expected.items():
        kind = getattr(aiobitstamp, name)
        error = kind.__new__(kind)  # the class decides; some need more to be built
        assert classify(error) == code, name
    assert classify(KeyboardInterrupt()) == ExitCode.INTERRUPTED
    assert classify(ZeroDivisionError()) == ExitCode.INTERNAL


# -- long reads into files ---------------------------------------------------------------------


def unix(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def test_ohlc_writes_every_candle_in_csv_jsonl_and_parquet(
    home: Path, emulator: Emulator, tmp_path: Path
) -> None:
    env = clean_env(home)
    since, until = "1699999200", "1700359200"  # 100 hours, on the hour
    expected = [1699999200 + 3600 * n for n in range(101)]
    for name in ("candles.csv", "candles.jsonl", "candles.parquet"):
        out = tmp_path / name
        completed = run_cli(
            *emulator.target(), "ohlc", "btcusd", "--since", since, "--until", until,
            "--step", "1h", "--out", str(out), env=env,
        )  # fmt: skip
        assert completed.returncode == 0, completed.stderr
        assert completed.stdout == ""
        assert "wrote 101 candles" in completed.stderr
        if name.endswith(".csv"):
            rows = list(csv.DictReader(io.StringIO(out.read_text())))
            assert Decimal(rows[0]["close"]) > 0
            seconds = [unix(row["timestamp"]) for row in rows]
        elif name.endswith(".jsonl"):
            rows = [json.loads(line) for line in out.read_text().splitlines()]
            seconds = [unix(row["timestamp"]) for row in rows]
        else:
            import pyarrow.parquet

            table = pyarrow.parquet.read_table(out)
            assert str(table.schema.field("close").type) == "decimal128(38, 18)"
            seconds = [int(moment.timestamp()) for moment in table.column("timestamp").to_pylist()]
        assert seconds == expected, name
    # Stdout when no file: CSV, or JSON Lines with --json.
    piped = run_cli(
        "--json", *emulator.target(), "ohlc", "btcusd", "--since", since, "--until", "1700006400",
        "--step", "1h", env=env,
    )  # fmt: skip
    assert len(piped.stdout.splitlines()) == 3


def test_history_is_resumable(home: Path, emulator: Emulator, tmp_path: Path) -> None:
    out = tmp_path / "history.jsonl"
    market_buy(emulator, 3)
    first = run_cli(*emulator.target(), "history", "--out", str(out), env=keyed(home))
    assert first.returncode == 0, first.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) >= 3
    ids = [int(row["id"]) for row in rows]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)

    # A crash left half a line; two more trades happened since.
    with out.open("a") as stream:
        stream.write('{"id": "99999999", "times')
    market_buy(emulator, 2)
    again = run_cli(*emulator.target(), "history", "--out", str(out), env=keyed(home))
    assert again.returncode == 0, again.stderr
    assert f"ends at transaction {ids[-1]}" in again.stderr
    resumed = [json.loads(line) for line in out.read_text().splitlines()]
    resumed_ids = [int(row["id"]) for row in resumed]
    assert resumed_ids[: len(ids)] == ids
    assert len(resumed_ids) >= len(ids) + 2
    assert resumed_ids == sorted(set(resumed_ids))  # nothing twice

    csv_out = tmp_path / "history.csv"
    assert (
        run_cli(*emulator.target(), "history", "--out", str(csv_out), env=keyed(home)).returncode
        == 0
    )
    assert (
        run_cli(*emulator.target(), "history", "--out", str(csv_out), env=keyed(home)).returncode
        == 0
    )
    lines = csv_out.read_text().splitlines()
    assert lines[0].startswith("id,timestamp,type") and len(lines) == len(resumed_ids) + 1


# -- the emulator command ----------------------------------------------------------------------


def test_emulator_prints_its_urls_and_generated_keys_and_stops_on_sigterm(home: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "aiobitstamp", "--json", "emulator", "--port", "0"],
        env=clean_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    banner = json.loads(process.stdout.readline())
    assert banner["url"].startswith("http://127.0.0.1:")
    assert banner["ws_url"].startswith("ws://127.0.0.1:")
    account = banner["accounts"][0]
    env = clean_env(
        home, BITSTAMP_API_KEY=account["api_key"], BITSTAMP_API_SECRET=account["api_secret"]
    )
    works = run_cli("--base-url", banner["url"], "balance", env=env)
    assert works.returncode == 0, works.stderr
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    OUTPUTS.append(process.stderr.read())
    process.stdout.close()
    process.stderr.close()


def test_emulator_never_echoes_a_secret_it_was_given(emulator: Emulator) -> None:
    assert emulator.lines[1] == f"account {TEST_KEY} <as given> user_id 1000001"


def test_embedded_emulator_option_works_offline(home: Path) -> None:
    completed = run_cli("--emulator", "--json", "balance", "btc", env=clean_env(home))
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)[0]["currency"] == "btc"


def test_python_dash_m_is_the_same_program(home: Path) -> None:
    env = clean_env(home)
    env.pop("PYTHONPATH", None)
    completed = subprocess.run(
        [sys.executable, "-m", "aiobitstamp", "ticker", "--help"],
        env=env, capture_output=True, text=True, timeout=60, cwd=os.getcwd(),
    )  # fmt: skip
    assert completed.returncode == 0 and "PAIR" in completed.stdout


def test_record_refuses_private_channels_without_keys_and_needs_one_output(
    home: Path, emulator: Emulator
) -> None:
    env = clean_env(home)
    out = str(home / "private")
    no_keys = run_cli(
        *emulator.target(), "record", "private-my_trades_btcusd", "--out", out, env=env
    )
    assert no_keys.returncode == ExitCode.AUTH
    assert "private channels need keys" in one_error_line(no_keys)
    two = run_cli(
        *emulator.target(), "record", "live_trades_btcusd", "--out", out, "--parquet", out,
        env=env,
    )  # fmt: skip
    assert two.returncode == ExitCode.USAGE
    assert "one output" in one_error_line(two)


def test_record_captures_private_channels_with_keys(
    home: Path, emulator: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "mine"
    place_order(emulator, "1001")
    completed = run_cli(
        "--json", *emulator.target(), "record", "private-my_orders_btcusd", "live_trades_btcusd",
        "--out", str(out), "--max-messages", "3", "--seconds", "30", env=keyed(home),
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    stopped = json.loads(completed.stdout.splitlines()[-1])
    assert stopped["event"] == "stopped" and stopped["messages"] >= 3
    replayed = run_cli("--json", "replay", str(out), env=clean_env(home))
    types = {json.loads(line)["type"] for line in replayed.stdout.splitlines()}
    assert "LiveTrade" in types
