"""Shared by the key tests: the test keys, and the scan that proves no secret escapes.

``no_secret_escapes`` (autouse in the key test modules) records every ``BitstampError`` the
library creates during a test and every log record, and after the test renders each of
them the way a person or a tool would see it: ``str``, ``repr``, ``args``, attributes, the
``__cause__``/``__context__`` chain, and the traceback with the locals of every library
frame (what rich, Sentry or ``traceback`` with ``capture_locals`` print). A test secret in
any of them fails the test.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aiobitstamp import BitstampError

# Every secret the key tests use; the scan looks for each. Letters and digits only, so
# they pass the emulator's checks, and long enough never to occur by chance.
SECRETS: list[str] = []


def secret(name: str) -> str:
    """A test secret, remembered for the scan."""
    value = f"TopSecret{name}0f3c9a71d2"
    if value not in SECRETS:
        SECRETS.append(value)
    return value


LIBRARY = str(Path(__file__).resolve().parent.parent / "aiobitstamp")


def rendered(error: BaseException) -> str:
    """Everything a locals-printing tool shows for ``error`` (library frames only: a
    test's own frames hold the secrets it passes)."""
    parts: list[str] = []
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        parts += [str(link), repr(link), repr(link.args)]
        if hasattr(link, "__dict__"):
            parts.append(repr(vars(link)))
        parts += [str(note) for note in getattr(link, "__notes__", ())]
        summary = traceback.TracebackException.from_exception(link, capture_locals=True)
        for frame in summary.stack:
            if frame.filename.startswith(LIBRARY):
                parts.append(repr(frame.locals))
        link = link.__cause__ or link.__context__
    return "\n".join(parts)


def leaks(texts: list[str]) -> list[str]:
    """The secrets found in ``texts``."""
    return [value for value in SECRETS if any(value in text for text in texts)]


@pytest.fixture(autouse=True)
def no_secret_escapes(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[BitstampError]]:
    created: list[BitstampError] = []
    original = BitstampError.__init__

    def recording(self: BitstampError, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        created.append(self)

    monkeypatch.setattr(BitstampError, "__init__", recording)
    caplog.set_level(logging.DEBUG)
    yield created
    texts = [rendered(error) for error in created]
    for record in caplog.records:
        texts.append(record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            texts.append(rendered(record.exc_info[1]))
        if record.exc_text:
            texts.append(record.exc_text)
    found = leaks(texts)
    assert not found, f"a secret escaped into an error or a log record: {len(found)} of them"
