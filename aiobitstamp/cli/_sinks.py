"""Where ``record`` writes, and how a recording is read back.

A recording is a sequence of :class:`Record`\\ s, in the order they were received. Each is
one message: the receive time (``received_us``, Unix microseconds on this host), the
exchange's ``microtimestamp`` (``None`` when the message has none), the ``channel``
(private ones without the ``-{user_id}`` suffix), the exchange's ``event`` (``trade``,
``order_created``, ``data``...; ``aiobitstamp:gap`` for a hole the streams layer
announced), ``data`` (the message's JSON object, as bytes) and ``recovered`` (a trade
refilled from REST after a reconnect or a restart).

Three sinks, each with a reader:

``jsonl`` (the default)
    A directory of gzip files ``capture-000001.jsonl.gz`` (a new one after
    ``rotate_bytes`` of JSON, before compression, or ``rotate_seconds``), one JSON object per line
    (``{"received_us":..., "microtimestamp":..., "channel":..., "event":..., "data":{...}}``
    plus ``"recovered": true`` when so). Each flush ends a gzip block, so everything flushed
    survives a ``kill -9``; a file cut short that way is repaired on the next start (its
    complete lines kept, the gzip trailer written).
``parquet``
    A directory of rotating ``capture-000001.parquet`` files (columns ``received_us``,
    ``microtimestamp``, ``channel``, ``event``, ``data`` (JSON text), ``recovered``). The
    file being filled is a JSON Lines staging file beside them, turned into Parquet when it
    rotates, when the recorder stops, or on the next start after a crash.
``redis``
    A Redis Stream (``XADD``), one entry per record with the same fields, so collectors on
    several hosts can write into one place (each its own channels).

The resume point of a channel is its last record in the existing output (see ``_record``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
import zlib
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple, Protocol

import orjson

from ._errors import CommandError, ExitCode

__all__ = [
    "GAP_EVENT",
    "JsonLinesSink",
    "ParquetSink",
    "Record",
    "RecordSink",
    "RedisStreamSink",
    "SinkSpec",
    "iter_records",
    "open_sink",
    "record_line",
]

GAP_EVENT = "aiobitstamp:gap"
_PREFIX = "capture-"
_SEGMENT = re.compile(r"capture-(\d{6,})\.(jsonl\.gz|parquet|staging\.jsonl)$")
_READ_CHUNK = 1 << 20


class Record(NamedTuple):
    """One recorded message (see the module docstring)."""

    received_us: int
    microtimestamp: int | None
    channel: str
    event: str
    data: bytes  # a JSON object
    recovered: bool = False


def record_line(record: Record) -> bytes:
    """The JSON Lines form of ``record``, newline included."""
    value: dict[str, Any] = {
        "received_us": record.received_us,
        "microtimestamp": record.microtimestamp,
        "channel": record.channel,
        "event": record.event,
        "data": orjson.Fragment(record.data),
    }
    if record.recovered:
        value["recovered"] = True
    return orjson.dumps(value, option=orjson.OPT_APPEND_NEWLINE)


def record_from_line(line: bytes) -> Record:
    """Parse one JSON Lines record (raises ``ValueError`` on a malformed line)."""
    value = orjson.loads(line)
    try:
        return Record(
            int(value["received_us"]),
            None if value["microtimestamp"] is None else int(value["microtimestamp"]),
            str(value["channel"]),
            str(value["event"]),
            orjson.dumps(value["data"]),
            bool(value.get("recovered", False)),
        )
    except (KeyError, TypeError) as error:
        raise ValueError(f"not a recorded message: {error}") from None


@dataclass(frozen=True)
class SinkSpec:
    """The output of ``record``: ``kind`` and where (a directory, or a Redis URL)."""

    kind: Literal["jsonl", "parquet", "redis"]
    target: str
    stream_key: str = "aiobitstamp:capture"
    rotate_bytes: int = 64_000_000
    rotate_seconds: float = 3600.0

    def describe(self) -> str:
        if self.kind == "redis":
            return f"Redis Stream {self.stream_key}"
        return f"{self.target}/ ({'gzip JSON Lines' if self.kind == 'jsonl' else 'Parquet'})"


class RecordSink(Protocol):
    """What the recorder writes through."""

    async def open(self) -> None:
        """Get ready (repairing what a crash left); afterwards ``last_records`` works."""

    async def last_records(self, channels: Sequence[str]) -> dict[str, Record]:
        """The last record of each of ``channels`` already in the output."""

    async def write(self, records: Sequence[Record]) -> None:
        """Append ``records`` in order."""

    async def flush(self) -> None:
        """Make everything written so far survive the process being killed."""

    async def close(self) -> None:
        """Flush and finish (trailers, footers); idempotent."""


def open_sink(spec: SinkSpec) -> RecordSink:
    """The sink ``spec`` names (not yet opened)."""
    if spec.kind == "jsonl":
        return JsonLinesSink(Path(spec.target), spec.rotate_bytes, spec.rotate_seconds)
    if spec.kind == "parquet":
        return ParquetSink(Path(spec.target), spec.rotate_bytes, spec.rotate_seconds)
    return RedisStreamSink(spec.target, spec.stream_key)


# -- files ---------------------------------------------------------------------------------


def _segments(directory: Path) -> list[tuple[int, str, Path]]:
    """``(number, kind, path)`` of every capture file in ``directory``, oldest first."""
    found = []
    with contextlib.suppress(FileNotFoundError):
        for path in directory.iterdir():
            match = _SEGMENT.fullmatch(path.name)
            if match:
                found.append((int(match.group(1)), match.group(2), path))
    found.sort(key=lambda item: (item[0], item[1] == "staging.jsonl"))
    return found


def _gzip_lines(path: Path) -> tuple[list[bytes], bool]:
    """The complete lines of a gzip file, and whether it was whole (a file cut short by a
    crash gives what was flushed before it, and ``False``)."""
    decompressor = zlib.decompressobj(wbits=31)
    pieces: list[bytes] = []
    whole = False
    with path.open("rb") as stream:
        while True:
            chunk = stream.read(_READ_CHUNK)
            if not chunk:
                break
            saved = decompressor.copy()
            try:
                pieces.append(decompressor.decompress(chunk))
            except zlib.error:
                # Garbage after the last flush: keep everything before it.
                pieces.append(_decompress_until_error(saved, chunk))
                break
            if decompressor.eof:
                whole = not decompressor.unused_data.strip(b"\0")
                break
    data = b"".join(pieces)
    end = data.rfind(b"\n") + 1
    if end < len(data):
        whole = False
    return data[:end].splitlines(), whole


def _decompress_until_error(decompressor: Any, chunk: bytes) -> bytes:
    """What ``chunk`` decompresses to before the byte that is not deflate data."""
    out = []
    for start in range(0, len(chunk), 64):
        saved = decompressor.copy()
        try:
            out.append(decompressor.decompress(chunk[start : start + 64]))
        except zlib.error:
            for index in range(start, min(start + 64, len(chunk))):
                try:
                    out.append(saved.decompress(chunk[index : index + 1]))
                except zlib.error:
                    break
            break
    return b"".join(out)


def _plain_lines(path: Path) -> list[bytes]:
    """The complete lines of a plain file (a last line without its newline is dropped)."""
    data = path.read_bytes()
    return data[: data.rfind(b"\n") + 1].splitlines()


def _records(lines: Iterable[bytes]) -> Iterator[Record]:
    for line in lines:
        if line.strip():
            yield record_from_line(line)


def _last_by_channel(records: Iterable[Record], wanted: set[str], found: dict[str, Record]) -> None:
    last: dict[str, Record] = {}
    for record in records:
        if record.channel in wanted:
            last[record.channel] = record
    for channel, record in last.items():
        found.setdefault(channel, record)


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)


class JsonLinesSink:
    """Rotating gzip JSON Lines files in a directory (see the module docstring)."""

    def __init__(self, directory: Path, rotate_bytes: int, rotate_seconds: float) -> None:
        self.directory = directory
        self.rotate_bytes = rotate_bytes
        self.rotate_seconds = rotate_seconds
        self.files_written: list[Path] = []
        self._number = 0
        self._raw: Any = None
        self._compressor: Any = None
        self._opened_at = 0.0
        self._size = 0
        self._closed = False

    async def open(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CommandError(f"cannot create {self.directory}: {error.strerror}") from None
        segments = [s for s in _segments(self.directory) if s[1] == "jsonl.gz"]
        if segments:
            number, _, path = segments[-1]
            lines, whole = _gzip_lines(path)
            if not whole:
                # Cut short by a crash: keep its complete lines, as a whole gzip file.
                compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
                body = b"".join(line + b"\n" for line in lines)
                _write_atomically(path, compressor.compress(body) + compressor.flush())
            self._number = number
        self._start_segment()

    async def last_records(self, channels: Sequence[str]) -> dict[str, Record]:
        wanted, found = set(channels), dict[str, Record]()
        for _, _, path in reversed([s for s in _segments(self.directory) if s[1] == "jsonl.gz"]):
            if wanted <= set(found):
                break
            lines, _ = await asyncio.to_thread(_gzip_lines, path)
            _last_by_channel(_records(lines), wanted - set(found), found)
        return found

    def _start_segment(self) -> None:
        self._number += 1
        path = self.directory / f"{_PREFIX}{self._number:06d}.jsonl.gz"
        # "x": never overwrite; a number is used once.
        self._raw = path.open("xb")
        self._compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
        self._opened_at = time.monotonic()
        self._size = 0  # uncompressed bytes: what rotation counts
        self.files_written.append(path)

    def _finish_segment(self) -> None:
        raw = self._raw
        if raw is None:
            return
        raw.write(self._compressor.flush(zlib.Z_FINISH))
        raw.flush()
        os.fsync(raw.fileno())
        raw.close()
        self._raw = self._compressor = None

    async def write(self, records: Sequence[Record]) -> None:
        if self._raw is None:
            raise RuntimeError("the sink is closed")
        body = b"".join([record_line(record) for record in records])
        self._raw.write(self._compressor.compress(body))
        self._size += len(body)
        if (
            self._size >= self.rotate_bytes
            or time.monotonic() - self._opened_at >= self.rotate_seconds
        ):
            self._finish_segment()
            self._start_segment()

    async def flush(self) -> None:
        if self._raw is not None:
            self._raw.write(self._compressor.flush(zlib.Z_SYNC_FLUSH))
            self._raw.flush()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._finish_segment()


class ParquetSink:
    """Rotating Parquet files, filled through a JSON Lines staging file."""

    def __init__(self, directory: Path, rotate_bytes: int, rotate_seconds: float) -> None:
        from ._export import require_pyarrow

        self._pyarrow = require_pyarrow()
        self.directory = directory
        self.rotate_bytes = rotate_bytes
        self.rotate_seconds = rotate_seconds
        self.files_written: list[Path] = []
        self._number = 0
        self._staging: Any = None
        self._staging_path: Path | None = None
        self._rows: list[Record] = []
        self._opened_at = 0.0
        self._closed = False
        self._converting: asyncio.Task[None] | None = None

    def schema(self) -> Any:
        pa = self._pyarrow
        return pa.schema(
            [
                ("received_us", pa.int64()),
                ("microtimestamp", pa.int64()),
                ("channel", pa.dictionary(pa.int32(), pa.string())),
                ("event", pa.dictionary(pa.int32(), pa.string())),
                ("data", pa.string()),
                ("recovered", pa.bool_()),
            ]
        )

    def _convert(self, rows: Sequence[Record], staging: Path) -> None:
        """Write ``rows`` as the Parquet file of ``staging`` and remove the staging file."""
        pa = self._pyarrow
        target = staging.with_name(staging.name.replace(".staging.jsonl", ".parquet"))
        columns: list[Sequence[Any]] = (
            list(zip(*rows, strict=True)) if rows else [() for _ in Record._fields]
        )
        table = pa.Table.from_arrays(
            [
                pa.array(columns[0], pa.int64()),
                pa.array(columns[1], pa.int64()),
                pa.array(columns[2], pa.string()).dictionary_encode(),
                pa.array(columns[3], pa.string()).dictionary_encode(),
                pa.array([data.decode() for data in columns[4]], pa.string()),
                pa.array(columns[5], pa.bool_()),
            ],
            schema=self.schema(),
        )
        temporary = target.with_name(target.name + ".tmp")
        self._pyarrow.parquet.write_table(table, temporary, compression="zstd")
        os.replace(temporary, target)
        staging.unlink()

    async def open(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CommandError(f"cannot create {self.directory}: {error.strerror}") from None
        segments = _segments(self.directory)
        for _, kind, path in segments:
            if kind == "staging.jsonl":
                # Left by a crash: what it holds becomes the Parquet file it was meant for.
                rows = list(_records(_plain_lines(path)))
                await asyncio.to_thread(self._convert, rows, path)
        self._number = segments[-1][0] if segments else 0
        self._start_segment()

    async def last_records(self, channels: Sequence[str]) -> dict[str, Record]:
        wanted, found = set(channels), dict[str, Record]()
        for _, kind, path in reversed(_segments(self.directory)):
            if wanted <= set(found):
                break
            if kind == "parquet":
                rows = await asyncio.to_thread(_parquet_records, path, self._pyarrow)
                _last_by_channel(rows, wanted - set(found), found)
        return found

    def _start_segment(self) -> None:
        self._number += 1
        path = self.directory / f"{_PREFIX}{self._number:06d}.staging.jsonl"
        self._staging = path.open("xb")
        self._staging_path = path
        self._rows = []
        self._opened_at = time.monotonic()

    async def _rotate(self) -> None:
        staging, path, rows = self._staging, self._staging_path, self._rows
        if staging is None or path is None:
            return
        staging.flush()
        staging.close()
        self._staging = None
        if self._converting is not None:
            await self._converting  # one conversion at a time keeps memory bounded
        target = path.with_name(path.name.replace(".staging.jsonl", ".parquet"))
        self.files_written.append(target)
        self._converting = asyncio.get_running_loop().create_task(
            asyncio.to_thread(self._convert, rows, path)
        )

    async def write(self, records: Sequence[Record]) -> None:
        if self._staging is None:
            raise RuntimeError("the sink is closed")
        self._staging.write(b"".join([record_line(record) for record in records]))
        self._rows.extend(records)
        if (
            self._staging.tell() >= self.rotate_bytes
            or time.monotonic() - self._opened_at >= self.rotate_seconds
        ):
            await self._rotate()
            self._start_segment()

    async def flush(self) -> None:
        if self._staging is not None:
            self._staging.flush()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._rotate()
        if self._converting is not None:
            await self._converting
            self._converting = None


def _parquet_records(path: Path, pyarrow: Any) -> list[Record]:
    table = pyarrow.parquet.read_table(path)
    columns = [table.column(name).to_pylist() for name in Record._fields]
    return [
        Record(received, micro, channel, event, data.encode(), recovered)
        for received, micro, channel, event, data, recovered in zip(*columns, strict=True)
    ]


# -- Redis ---------------------------------------------------------------------------------


def _redis_module() -> Any:
    try:
        import redis.asyncio as aioredis
    except ImportError:
        raise CommandError(
            "--redis needs the redis package: pip install 'aiobitstamp[redis]'"
        ) from None
    return aioredis


def _record_from_entry(fields: dict[bytes, bytes]) -> Record:
    micro = fields.get(b"microtimestamp", b"")
    return Record(
        int(fields[b"received_us"]),
        int(micro) if micro else None,
        fields[b"channel"].decode(),
        fields[b"event"].decode(),
        fields[b"data"],
        fields.get(b"recovered") == b"1",
    )


class RedisStreamSink:
    """One Redis Stream; every batch is one pipelined round trip of ``XADD``\\ s."""

    def __init__(self, url: str, key: str) -> None:
        self._redis_lib = _redis_module()
        self.url = url
        self.key = key
        self._redis: Any = None
        self._closed = False

    async def open(self) -> None:
        self._redis = self._redis_lib.from_url(self.url)
        try:
            await self._redis.ping()
        except (OSError, self._redis_lib.RedisError) as error:
            await self._redis.aclose()
            self._redis = None
            raise CommandError(
                f"cannot reach Redis at {self.url}: {error}", ExitCode.NETWORK
            ) from None

    async def last_records(self, channels: Sequence[str]) -> dict[str, Record]:
        wanted, found = set(channels), dict[str, Record]()
        upper = "+"
        while not wanted <= set(found):
            page = await self._redis.xrevrange(self.key, max=upper, min="-", count=1000)
            if not page:
                break
            for _, fields in page:
                record = _record_from_entry(fields)
                if record.channel in wanted:
                    found.setdefault(record.channel, record)
            upper = "(" + page[-1][0].decode()
        return found

    async def write(self, records: Sequence[Record]) -> None:
        pipeline = self._redis.pipeline(transaction=False)
        for record in records:
            fields = {
                "received_us": record.received_us,
                "microtimestamp": "" if record.microtimestamp is None else record.microtimestamp,
                "channel": record.channel,
                "event": record.event,
                "data": record.data,
            }
            if record.recovered:
                fields["recovered"] = 1
            pipeline.xadd(self.key, fields)
        await pipeline.execute()

    async def flush(self) -> None:
        """Every write already reached Redis."""

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._redis is not None:
            await self._redis.aclose()


# -- reading -------------------------------------------------------------------------------


async def iter_records(
    source: str, *, stream_key: str = "aiobitstamp:capture"
) -> AsyncIterator[Record]:
    """Every record of a recording, in recorded order: a capture directory (JSON Lines or
    Parquet), one capture file, or ``redis://...`` (the Stream ``stream_key``)."""
    if source.startswith(("redis://", "rediss://", "unix://")):
        async for record in _iter_redis(source, stream_key):
            yield record
        return
    path = Path(source)
    if path.is_dir():  # noqa: ASYNC240  (a stat, before any reading)
        files = [p for _, _, p in _segments(path)]
        if not files:
            raise CommandError(
                f"{path} holds no recording (capture-*.jsonl.gz or .parquet)", ExitCode.NOT_FOUND
            )
    elif path.is_file():  # noqa: ASYNC240
        files = [path]
    else:
        raise CommandError(f"{source} does not exist", ExitCode.NOT_FOUND)
    pyarrow: Any = None
    for file in files:
        name = file.name
        if name.endswith(".parquet"):
            if pyarrow is None:
                from ._export import require_pyarrow

                pyarrow = require_pyarrow()
            records: Iterable[Record] = _parquet_records(file, pyarrow)
        elif name.endswith(".gz"):
            lines, _ = _gzip_lines(file)
            records = _records(lines)
        else:
            records = _records(_plain_lines(file))
        for count, record in enumerate(records):
            yield record
            if count % 4096 == 4095:
                await asyncio.sleep(0)  # let other tasks run during a long file


async def _iter_redis(url: str, key: str) -> AsyncIterator[Record]:
    aioredis = _redis_module()
    redis = aioredis.from_url(url)
    try:
        lower = "-"
        while True:
            try:
                page = await redis.xrange(key, min=lower, max="+", count=2000)
            except (OSError, aioredis.RedisError) as error:
                raise CommandError(
                    f"cannot read {key} at {url}: {error}", ExitCode.NETWORK
                ) from None
            if not page:
                return
            for _, fields in page:
                yield _record_from_entry(fields)
            lower = "(" + page[-1][0].decode()
    finally:
        await redis.aclose()
