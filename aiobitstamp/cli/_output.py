"""Output for people and for machines.

Three audiences, one call per answer:

* a person at a terminal gets rich tables, colour and progress bars (progress on stderr);
* a pipe gets nothing but the answer: tab-separated rows under a header line, no colour,
  no progress, no decoration, so ``cut``, ``sort`` and ``awk`` work;
* ``--json`` gets one JSON document on stdout (JSON Lines for streams): money as exact
  decimal strings, times as ISO 8601 UTC, enums as their wire values.

Errors are one line on stderr (a JSON object with ``--json``); the traceback only with
``--debug``.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import enum
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any, Protocol

import orjson
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table as RichTable
from rich.text import Text

__all__ = ["Output", "ProgressReporter", "Table", "json_bytes", "plain"]


def _default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | frozenset | set):
        return list(value)
    if hasattr(value, "items"):
        return dict(value.items())
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def json_bytes(value: Any) -> bytes:
    """``value`` as compact JSON: Decimals exact, datetimes ISO 8601, enums by value."""
    return orjson.dumps(
        value, default=_default, option=orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_UTC_Z
    )


def plain(value: Any) -> str:
    """A cell as text for a pipe or a table: exact decimals, ISO times, ``-`` for nothing."""
    if value is None:
        return "-"
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, datetime.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


@dataclass
class Table:
    """Rows under named columns. ``styles`` colours a cell for a terminal (by column)."""

    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    title: str | None = None
    justify: Sequence[str] | None = None  # "left" / "right" per column
    style: Callable[[int, Sequence[Any]], str | None] | None = None  # (column, row) -> style

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


class ProgressReporter(Protocol):
    """What long work reports: ``advance`` by some items, ``total`` once it is known."""

    def advance(self, count: int = 1) -> None: ...

    def total(self, total: float | None) -> None: ...


class _NoProgress:
    def advance(self, count: int = 1) -> None:
        pass

    def total(self, total: float | None) -> None:
        pass


class _RichProgress:
    def __init__(self, progress: Progress, task: Any) -> None:
        self._progress = progress
        self._task = task

    def advance(self, count: int = 1) -> None:
        self._progress.advance(self._task, count)

    def total(self, total: float | None) -> None:
        self._progress.update(self._task, total=total)


class Output:
    """Where a command's answer, progress and errors go."""

    def __init__(
        self,
        *,
        json: bool = False,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
    ) -> None:
        self.json = json
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.terminal = _isatty(self.stdout)
        self.err_terminal = _isatty(self.stderr)
        self.console = Console(file=self.stdout, highlight=False, soft_wrap=False)
        self.err_console = Console(file=self.stderr, highlight=False, soft_wrap=True)

    # -- answers -----------------------------------------------------------------------

    def json_document(self, value: Any) -> None:
        """One JSON document (or one JSON Lines line) on stdout."""
        self.stdout.write(json_bytes(value).decode() + "\n")
        self.stdout.flush()

    def table(self, table: Table, *, json_value: Any = None) -> None:
        """``table`` as rich (terminal), TSV (pipe), or its records as JSON."""
        if self.json:
            self.json_document(table.records() if json_value is None else json_value)
            return
        if not self.terminal:
            lines = ["\t".join(table.columns)]
            lines += ["\t".join(plain(cell) for cell in row) for row in table.rows]
            self.stdout.write("\n".join(lines) + "\n")
            self.stdout.flush()
            return
        rich_table = RichTable(title=table.title, title_justify="left", header_style="bold")
        for index, column in enumerate(table.columns):
            justify = table.justify[index] if table.justify else "left"
            rich_table.add_column(column, justify=justify)  # type: ignore[arg-type]
        for row in table.rows:
            cells = []
            for index, cell in enumerate(row):
                style = table.style(index, row) if table.style else None
                cells.append(Text(plain(cell), style=style or ""))
            rich_table.add_row(*cells)
        self.console.print(rich_table)

    def record(self, fields: Sequence[tuple[str, Any]], *, title: str | None = None) -> None:
        """One object: ``name value`` lines (terminal, pipe) or a JSON object."""
        if self.json:
            self.json_document(dict(fields))
            return
        if not self.terminal:
            self.stdout.write("".join(f"{name}\t{plain(value)}\n" for name, value in fields))
            self.stdout.flush()
            return
        grid = RichTable(title=title, title_justify="left", show_header=False, box=None)
        grid.add_column(style="bold")
        grid.add_column(justify="right")
        for name, value in fields:
            grid.add_row(name, plain(value))
        self.console.print(grid)

    def line(self, text: str, *, style: str | None = None) -> None:
        """A line of the answer for people (ignored with ``--json``)."""
        if self.json:
            return
        if self.terminal:
            self.console.print(Text(text, style=style or ""))
        else:
            self.stdout.write(text + "\n")
            self.stdout.flush()

    def note(self, text: str) -> None:
        """A remark on stderr (what is happening), never part of the answer."""
        if self.err_terminal:
            self.err_console.print(Text(text, style="dim"))
        else:
            self.stderr.write(text + "\n")
            self.stderr.flush()

    def error(self, message: str, *, kind: str, code: int) -> None:
        """The one line an error gets."""
        if self.json:
            payload = {"error": {"type": kind, "message": message, "exit_code": code}}
            self.stderr.write(json_bytes(payload).decode() + "\n")
        elif self.err_terminal:
            self.err_console.print(Text("error: ", style="bold red") + Text(message))
        else:
            self.stderr.write(f"error: {message}\n")
        self.stderr.flush()

    # -- progress ----------------------------------------------------------------------

    @contextlib.contextmanager
    def progress(self, description: str, total: float | None = None) -> Iterator[ProgressReporter]:
        """A progress bar on stderr while the block runs; nothing unless stderr is a
        terminal (and never with ``--json``)."""
        if self.json or not self.err_terminal:
            yield _NoProgress()
            return
        columns = [
            SpinnerColumn(),
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        ]
        with Progress(*columns, console=self.err_console, transient=True) as progress:
            task = progress.add_task(description, total=total)
            yield _RichProgress(progress, task)


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
