"""Long reads written to files: ``ohlc`` (candles over any range) and ``history`` (the
account's transactions, resumable).

Formats: CSV, JSON Lines, and Parquet (``pip install 'aiobitstamp[parquet]'``), chosen by
``--format`` or the file's suffix. Money stays exact: decimal strings in CSV and JSON
Lines, ``decimal128`` in Parquet.

``history --out FILE`` resumes: when FILE already holds rows, the walk starts from the last
transaction id in it (a line cut short by a crash is dropped first), so running the same
command again appends only what is new.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

import orjson

from .._models import Candle, UserTransaction
from ._errors import CommandError, ExitCode
from ._output import Output, json_bytes, plain
from ._session import StreamingClient

__all__ = ["Format", "choose_format", "history", "ohlc"]

Format = Literal["csv", "jsonl", "parquet"]
_SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_CANDLE_COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
_HISTORY_COLUMNS = ("id", "timestamp", "type", "order_id", "fee", "amounts", "rates")


def choose_format(fmt: str | None, out: Path | None, *, json: bool) -> Format:
    """``--format`` if given, else the suffix of ``--out``, else JSON Lines with ``--json``
    and CSV without."""
    if fmt is not None:
        return fmt  # type: ignore[return-value]
    if out is not None:
        found = _SUFFIXES.get(out.suffix.lower())
        if found is None:
            raise CommandError(
                f"cannot tell the format of {out.name}: name it .csv, .jsonl or .parquet, "
                "or give --format"
            )
        return found
    return "jsonl" if json else "csv"


def require_pyarrow() -> Any:
    """The pyarrow module, or a clear error naming the extra to install."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise CommandError(
            "Parquet needs pyarrow: pip install 'aiobitstamp[parquet]'", ExitCode.USAGE
        ) from None
    return pyarrow


class _RowWriter:
    """CSV or JSON Lines rows to a text stream."""

    def __init__(self, stream: IO[str], fmt: Format, columns: Sequence[str], header: bool) -> None:
        self._stream = stream
        self._fmt = fmt
        self._columns = columns
        self._csv = csv.writer(stream, lineterminator="\n") if fmt == "csv" else None
        if self._csv is not None and header:
            self._csv.writerow(columns)

    def write(self, row: dict[str, Any]) -> None:
        if self._csv is not None:
            self._csv.writerow([_csv_cell(row[name]) for name in self._columns])
        else:
            self._stream.write(json_bytes(row).decode() + "\n")

    def flush(self) -> None:
        self._stream.flush()


def _csv_cell(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(f"{key}:{plain(amount)}" for key, amount in value.items())
    return "" if value is None else plain(value)


def _candle_row(candle: Candle) -> dict[str, Any]:
    return {
        "timestamp": candle.timestamp,
        "open": candle.open,
        "high": candle.high,
        "low": candle.low,
        "close": candle.close,
        "volume": candle.volume,
    }


def _write_parquet(path: Path, rows: list[dict[str, Any]], schema: Any) -> None:
    pyarrow = require_pyarrow()
    table = pyarrow.Table.from_pylist(rows, schema=schema)
    temporary = path.with_name(path.name + ".partial")
    pyarrow.parquet.write_table(table, temporary)
    os.replace(temporary, path)


def _decimal_type(pyarrow: Any) -> Any:
    # 38 digits, 18 after the point: every Bitstamp price, amount and volume fits exactly.
    return pyarrow.decimal128(38, 18)


async def ohlc(
    client: StreamingClient,
    output: Output,
    *,
    pair: str,
    step: int,
    since: datetime,
    until: datetime,
    out: Path | None,
    fmt: Format,
) -> None:
    """Every candle of ``pair`` from ``since`` to ``until``, paged, with a progress bar."""
    if until < since:
        raise CommandError("--until is before --since")
    if fmt == "parquet" and out is None:
        raise CommandError("Parquet goes to a file: give --out FILE.parquet")
    pyarrow = require_pyarrow() if fmt == "parquet" else None
    expected = int((until - since).total_seconds()) // step + 1
    rows: list[dict[str, Any]] = []
    count = 0
    target = None if fmt == "parquet" else out
    with _OpenOrStdout(target, "w") as stream, output.progress(f"{pair} candles", expected) as bar:
        writer = _RowWriter(stream, fmt, _CANDLE_COLUMNS, header=True) if fmt != "parquet" else None
        async for candle in client.iter_ohlc(pair, step, since, until):
            row = _candle_row(candle)
            if writer is not None:
                writer.write(row)
            else:
                rows.append(row)
            count += 1
            bar.advance()
        if writer is not None:
            writer.flush()
    if pyarrow is not None and out is not None:
        money = _decimal_type(pyarrow)
        schema = pyarrow.schema(
            [("timestamp", pyarrow.timestamp("s", tz="UTC"))]
            + [(name, money) for name in _CANDLE_COLUMNS[1:]]
        )
        _write_parquet(out, rows, schema)
    if out is not None:
        output.note(f"wrote {count} candles of {pair} to {out}")


# -- history -------------------------------------------------------------------------------


def _transaction_row(row: UserTransaction) -> dict[str, Any]:
    return {
        "id": row.id,
        "timestamp": row.timestamp,
        "type": row.type.name.lower(),
        "order_id": row.order_id,
        "fee": row.fee,
        "amounts": dict(row.amounts),
        "rates": dict(row.rates),
    }


def last_history_id(path: Path, fmt: Format) -> int | None:
    """The id of the last complete row in ``path``, after cutting off a partial last line
    (left by a crash). ``None`` for a missing or empty file."""
    if fmt == "parquet":
        raise CommandError("history writes CSV or JSON Lines (it appends as it goes)")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if size == 0:
        return None
    with path.open("rb+") as stream:
        data = stream.read()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            stream.truncate(end)  # a line cut short: written again below
        data = data[:end]
    lines = [line for line in data.splitlines() if line.strip()]
    if fmt == "csv":
        lines = lines[1:]  # the header
    if not lines:
        return None
    last = lines[-1]
    try:
        if fmt == "jsonl":
            return int(orjson.loads(last)["id"])
        return int(next(csv.reader(io.StringIO(last.decode())))[0])
    except (ValueError, KeyError, TypeError, StopIteration):
        raise CommandError(
            f"{path} does not end with a transaction row written by 'history'; give another --out",
            ExitCode.USAGE,
        ) from None


async def history(
    client: StreamingClient,
    output: Output,
    *,
    pair: str | None,
    since: datetime | None,
    until: datetime | None,
    out: Path | None,
    fmt: Format,
) -> None:
    """The account's transactions, oldest first; appended to ``out`` from where it ends."""
    resume = last_history_id(out, fmt) if out is not None else None
    start: datetime | int | None = since
    if resume is not None:
        start = resume
        output.note(f"{out} ends at transaction {resume}: continuing after it")
    fresh = out is None or resume is None
    count = 0
    with _OpenOrStdout(out, "a") as stream, output.progress("transactions") as bar:
        writer = _RowWriter(stream, fmt, _HISTORY_COLUMNS, header=fresh)
        async for row in client.iter_user_transactions(pair, since=start, until=until):
            if resume is not None and int(row.id) <= resume:
                continue  # the resume row itself: already written
            writer.write(_transaction_row(row))
            count += 1
            bar.advance()
            if count % 1000 == 0:
                writer.flush()
        writer.flush()
    if out is not None:
        output.note(f"wrote {count} new transactions to {out}")


class _OpenOrStdout:
    """``open(path, mode)``, or stdout (left open) when ``path`` is None."""

    def __init__(self, path: Path | None, mode: str) -> None:
        self._path = path
        self._mode = mode
        self._stream: IO[str] | None = None

    def __enter__(self) -> IO[str]:
        if self._path is None:
            return sys.stdout
        self._stream = self._path.open(self._mode, encoding="utf-8", newline="")
        return self._stream

    def __exit__(self, *exc_info: object) -> None:
        if self._stream is not None:
            self._stream.close()
