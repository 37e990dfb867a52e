"""The ``aiobitstamp`` command line (``pip install 'aiobitstamp[cli]'``).

Commands: ``demo``, ``ticker``, ``book``, ``trades``, ``balance``, ``orders``, ``fees``,
``ohlc``, ``history``, ``record``, ``replay`` and ``emulator``; ``aiobitstamp --help`` lists
them with their options, and the exit codes are drawn in ``_errors``.

The package, one module per concern:

* ``_app``: the click commands and how a run ends; ``_arguments``: argument types;
* ``_config``: keys and addresses (environment, config file); ``_session``: the client and
  the embedded emulator; ``_errors``: errors to exit codes; ``_output``: tables, JSON,
  progress;
* ``_commands``: the one-shot queries; ``_export``: ``ohlc`` and ``history`` files;
* ``_demo``: the market-making demo; ``_emulator``: the standalone exchange;
* ``_record``: the collector; ``_sinks``: its outputs (rotating gzip JSON Lines, Parquet,
  Redis Stream) and their readers; ``_replay``: a recording as a stream again.

Importing this package costs nothing: click and rich load when :func:`main` runs, and the
core library never imports any of it. :func:`replay` (a recording as typed stream events,
for backtests) needs neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._replay import Replay

__all__ = ["main", "replay"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``aiobitstamp`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    try:
        from ._app import main as run
    except ImportError as error:  # the cli extra is not installed
        import sys

        sys.stderr.write(
            f"error: the command line needs {error.name or 'its extra'}: "
            "pip install 'aiobitstamp[cli]'\n"
        )
        return 2
    return run(argv)


def replay(source: str, *, speed: float | None = None, **options: Any) -> Replay:
    """A recording made by ``aiobitstamp record`` as a stream of typed events.

    >>> async with replay("capture/", speed=None) as events:  # doctest: +SKIP
    ...     async for event in events:
    ...         print(type(event).__name__, event.channel)

    ``speed`` 1 keeps the recorded pace, 10 is ten times faster, ``None`` does not wait.
    See :class:`~aiobitstamp.cli._replay.Replay` for the options.
    """
    from ._replay import Replay

    return Replay(source, speed=speed, **options)
