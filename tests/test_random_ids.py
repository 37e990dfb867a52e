"""Nonces and client_order_ids come from os.urandom in batches: never one id twice, not
across batches, threads or forked processes."""

from __future__ import annotations

import os
import threading

import pytest

from aiobitstamp import _random_ids
from aiobitstamp._random_ids import random_hex


def test_ids_are_32_hex_digits_and_never_repeat_across_batches() -> None:
    ids = [random_hex() for _ in range(3 * _random_ids._IDS_PER_BATCH + 7)]
    assert len(set(ids)) == len(ids)
    assert all(len(text) == 32 and int(text, 16) >= 0 and text == text.lower() for text in ids)


def test_ids_are_the_bytes_urandom_gave(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []

    def urandom(size: int) -> bytes:
        asked.append(size)
        return bytes(range(256)) * (size // 256)

    monkeypatch.setattr(_random_ids.os, "urandom", urandom)
    monkeypatch.setattr(_random_ids, "_batch", [])
    first = random_hex()
    assert asked == [16 * _random_ids._IDS_PER_BATCH]
    # Handed out from the end of the batch: its last 16 bytes.
    assert first == bytes(range(240, 256)).hex()


def test_threads_drawing_at_once_never_share_an_id() -> None:
    drawn: list[list[str]] = [[] for _ in range(8)]
    start = threading.Barrier(len(drawn))

    def draw(into: list[str]) -> None:
        start.wait()
        for _ in range(3000):
            into.append(random_hex())

    threads = [threading.Thread(target=draw, args=(into,)) for into in drawn]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [text for into in drawn for text in into]
    assert len(every) == 8 * 3000 and len(set(every)) == len(every)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork")
def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    random_hex()  # the parent now holds a batch with ids left in it
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its ids and leave at once
        try:
            os.write(write_end, "".join(random_hex() for _ in range(50)).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    text = b"".join(chunks).decode()
    child = {text[start : start + 32] for start in range(0, len(text), 32)}
    parent = {random_hex() for _ in range(50)}
    assert len(child) == 50 and not child & parent
