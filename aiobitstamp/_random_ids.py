"""Random ids: 128 bits from ``os.urandom``, drawn in batches.

Every private request needs a fresh nonce and every order a ``client_order_id``, 16
random bytes each. ``os.urandom`` is a system call, and on the request path two of them
cost about as much as the rest of signing. So the bytes are drawn 4 KiB at a time and
handed out 16 by 16; they are the same bytes ``os.urandom`` gives.

* **Threads.** ``list.pop()`` is one step under the GIL: two threads never get the same
  bytes.
* **Processes.** A forked child throws the parent's batch away before it runs anything
  (``os.register_at_fork``), so processes sharing one key draw bytes of their own, as
  with ``os.urandom`` itself.
"""

from __future__ import annotations

import os

__all__ = ["random_hex"]

_IDS_PER_BATCH = 256
_ID_BYTES = 16

_batch: list[bytes] = []


def random_hex() -> str:
    """32 lowercase hex digits: 128 bits no other call in any process has been given."""
    while True:
        try:
            return _batch.pop().hex()
        except IndexError:  # used up (another thread may empty a fresh batch first)
            _refill()


def _refill() -> None:
    data = os.urandom(_ID_BYTES * _IDS_PER_BATCH)
    _batch.extend([data[start : start + _ID_BYTES] for start in range(0, len(data), _ID_BYTES)])


if hasattr(os, "register_at_fork"):  # POSIX; elsewhere there is no fork to copy the batch
    os.register_at_fork(after_in_child=_batch.clear)
