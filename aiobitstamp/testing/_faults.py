"""Fault switches: the ways a network, a proxy or the exchange fails a request.

Each switch adds a ``FaultRule`` to ``FakeBitstamp.faults``. A rule matches a request by
path prefix (``"buy/"`` matches every buy, limit, market and instant; a path starting with
``/`` is taken as is, anything else is relative to ``/api/v2/``; None matches every path),
then fires with its ``probability``, drawn from its own seeded random source, at most
``times`` times (None: no limit). The first rule that fires wins.

A rule acts *before* the request reaches the API (like a proxy in front of it: the rate
limit, auth and the exchange never see it) or *after executing* it (the exchange acted --
an order is placed -- and then the answer is lost or replaced). What a client then sees:

=========================  ===========================================================
``answer``                 a raw response of the rule's status, body and content type
                           (a CDN's HTML 502 page, a JSON 503 maintenance notice)
``delay``                  the normal answer, ``seconds`` late
``drop``                   the connection closed without an answer (server disconnected)
``reset``                  the connection reset (TCP RST: connection reset by peer)
=========================  ===========================================================

``drop_answer_after_accept`` drops only answers the exchange accepted (HTTP 2xx): the order
stays placed, and the client cannot know it. Refusing connections (the listening socket
closed for a while) acts before any request exists, so it has no path or probability: see
``FakeBitstamp.refuse_connections``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final, Literal

__all__ = ["FaultRule", "Faults"]

API_PREFIX: Final = "/api/v2/"
DEFAULT_FAULT_BODY: Final = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)
MAINTENANCE_BODY: Final = (
    b'{"error": "Bitstamp.net is under scheduled maintenance. We\'ll be back soon."}'
)
_SERVICE_UNAVAILABLE_HTML: Final = (
    b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
    b"<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n"
)

Action = Literal["answer", "delay", "drop", "reset"]
Stage = Literal["before", "after"]


@dataclass(eq=False)
class FaultRule:
    """One fault switch. ``served`` counts how often it fired; ``cancel()`` retires it."""

    action: Action
    stage: Stage
    path: str | None
    probability: float
    times: int | None
    rng: random.Random
    status: int = 502
    body: bytes = DEFAULT_FAULT_BODY
    content_type: str = "text/html"
    seconds: float = 0.0
    only_accepted: bool = False
    served: int = 0
    active: bool = field(default=True)

    def matches(self, path: str) -> bool:
        return self.active and (self.path is None or path.startswith(self.path))

    def fire(self) -> bool:
        """Roll this rule's dice once; True (and counted) when it acts."""
        if self.probability < 1.0 and self.rng.random() >= self.probability:
            return False
        self.served += 1
        if self.times is not None and self.served >= self.times:
            self.active = False
        return True

    def cancel(self) -> None:
        """Stop this rule from firing again."""
        self.active = False


def _full_path(path: str | None) -> str | None:
    if path is None or path.startswith("/"):
        return path
    return API_PREFIX + path


class Faults:
    """The fault switches of one emulator (``FakeBitstamp.faults``)::

    fake.faults.drop_answer_after_accept(probability=0.1, path="buy/")
    fake.faults.reset_connection(probability=0.05)
    fake.faults.server_error(status=503, html=True, path="ticker/", times=2)
    fake.faults.delay(2.5, path="cancel_order/", after_executing=True)
    """

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._rules: list[FaultRule] = []

    def __iter__(self) -> Iterator[FaultRule]:
        return iter(self._rules)

    def clear(self) -> None:
        """Retire every rule."""
        for rule in self._rules:
            rule.cancel()
        self._rules.clear()

    def add(
        self,
        action: Action,
        *,
        stage: Stage,
        path: str | None = None,
        probability: float = 1.0,
        times: int | None = None,
        seed: int | None = None,
        status: int = 502,
        body: bytes | str = DEFAULT_FAULT_BODY,
        content_type: str = "text/html",
        seconds: float = 0.0,
        only_accepted: bool = False,
    ) -> FaultRule:
        """Add a rule (the switches below are the usual spellings of this)."""
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1")
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        rng = random.Random(f"{self._seed}:fault:{len(self._rules)}" if seed is None else seed)
        rule = FaultRule(
            action,
            stage,
            _full_path(path),
            probability,
            times,
            rng,
            status=status,
            body=body.encode() if isinstance(body, str) else body,
            content_type=content_type,
            seconds=seconds,
            only_accepted=only_accepted,
        )
        self._rules.append(rule)
        return rule

    # -- the switches -------------------------------------------------------------------

    def drop_answer_after_accept(
        self,
        *,
        probability: float = 1.0,
        path: str | None = None,
        times: int | None = None,
        seed: int | None = None,
    ) -> FaultRule:
        """Execute the request; if the exchange accepted it (2xx), close the connection
        instead of answering. The order stays placed; the client cannot know."""
        return self.add(
            "drop",
            stage="after",
            path=path,
            probability=probability,
            times=times,
            seed=seed,
            only_accepted=True,
        )

    def drop_connection(
        self,
        *,
        after_executing: bool = False,
        probability: float = 1.0,
        path: str | None = None,
        times: int | None = None,
        seed: int | None = None,
    ) -> FaultRule:
        """Close the connection without an answer, before or after executing."""
        stage: Stage = "after" if after_executing else "before"
        return self.add(
            "drop", stage=stage, path=path, probability=probability, times=times, seed=seed
        )

    def reset_connection(
        self,
        *,
        after_executing: bool = False,
        probability: float = 1.0,
        path: str | None = None,
        times: int | None = None,
        seed: int | None = None,
    ) -> FaultRule:
        """Reset the connection (TCP RST), before the request reaches the API or after it
        was executed."""
        stage: Stage = "after" if after_executing else "before"
        return self.add(
            "reset", stage=stage, path=path, probability=probability, times=times, seed=seed
        )

    def delay(
        self,
        seconds: float,
        *,
        after_executing: bool = False,
        probability: float = 1.0,
        path: str | None = None,
        times: int | None = None,
        seed: int | None = None,
    ) -> FaultRule:
        """Hold the answer back ``seconds`` (wall-clock latency), before executing the
        request or after (so a client that times out finds the order placed)."""
        stage: Stage = "after" if after_executing else "before"
        return self.add(
            "delay",
            stage=stage,
            path=path,
            probability=probability,
            times=times,
            seed=seed,
            seconds=seconds,
        )

    def server_error(
        self,
        *,
        status: int = 503,
        html: bool = False,
        body: bytes | str | None = None,
        after_executing: bool = False,
        probability: float = 1.0,
        path: str | None = None,
        times: int | None = None,
        seed: int | None = None,
    ) -> FaultRule:
        """Answer 5xx: Bitstamp's JSON maintenance notice, or (``html``) a proxy's HTML
        page; ``body`` overrides either. After executing, the exchange has acted."""
        if body is None:
            body = _SERVICE_UNAVAILABLE_HTML if html else MAINTENANCE_BODY
        stage: Stage = "after" if after_executing else "before"
        return self.add(
            "answer",
            stage=stage,
            path=path,
            probability=probability,
            times=times,
            seed=seed,
            status=status,
            body=body,
            content_type="text/html" if html else "application/json",
        )

    # -- used by the server -------------------------------------------------------------

    def take(self, stage: Stage, path: str, status: int | None = None) -> FaultRule | None:
        """The first rule of ``stage`` that matches ``path`` and fires, if any.

        After executing, ``status`` is the exchange's own answer: rules that act only on
        accepted requests skip the rest.
        """
        for rule in self._rules:
            if rule.stage != stage or not rule.matches(path):
                continue
            if rule.only_accepted and (status is None or not 200 <= status < 300):
                continue
            if rule.fire():
                if not rule.active:
                    self._rules.remove(rule)
                return rule
        return None
