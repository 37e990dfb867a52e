"""Several API keys in one client: which key signs which call, and swapping a key live.

**Routing.** Every signed route needs one of Bitstamp's fine permissions
(``Route.permission``). Each call goes out with the key the routing table names for its
route, computed when the client is built and again after each rotation, so a request
costs one dict lookup. The default rule: the first key, in the order given, whose
permissions cover the route's (a key whose permissions were not said covers everything).
``routing=`` changes it:

* a mapping from a route name (``"buy_limit"``), a fine permission (``"buy_limit_order"``)
  or a scope (``"trade"``) to a key's label; the most specific entry wins, and routes it
  does not name follow the default rule;
* a callable ``(route_name, permission) -> label | None`` (``None``: the default rule),
  called once per signed route whenever the table is computed, never per request.

A route pinned to a key that was said not to have its permission is refused when the
table is computed; a route no key covers fails locally, before anything is sent, with
``MissingPermissionError`` naming the permission and the keys there are.

**Rotation.** ``rotate()`` swaps the credentials behind a label at once, when called. A
request reads its key when it is signed (after the rate limiter admits it), so requests
already signed finish with the old key, and every request signed afterwards, retries
included, uses the new one; nothing fails in between. What ``rotate()`` returns, awaited,
ends once no request signed with the old key is still waiting for its answer: from then on
the old key can be deleted at the exchange.

**Budgets.** In ``"key"`` scope each label has a limiter of its own (kept across
rotations: a rotated key is still the same bot's budget); in ``"host"`` scope all keys and
the public endpoints share one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from typing import Any, Literal

from ._auth import Credentials
from ._exceptions import (
    InvalidParameterError,
    MissingCredentialsError,
    MissingPermissionError,
)
from ._limiter import Limiter, LimiterHandle
from ._permissions import FINE_PERMISSIONS, Permission, describe, scope_of, summary
from ._routes import ROUTES, Route

__all__ = ["KeyRing", "KeySlot", "RateLimitScope", "Routing"]

RateLimitScope = Literal["host", "key"]
Routing = Mapping[str, str] | Callable[[str, str], str | None] | None

_SIGNED: tuple[Route, ...] = tuple(route for route in ROUTES.values() if route.signed)


class _Generation:
    """One set of credentials behind a label, and the requests signed with it that await
    their answer."""

    __slots__ = ("credentials", "drained", "in_flight", "retired")

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        self.in_flight = 0
        self.retired = False
        self.drained: asyncio.Future[None] | None = None

    def settle(self) -> None:
        """The last request signed with a retired generation has ended."""
        drained = self.drained
        if drained is not None and not drained.done():
            drained.set_result(None)


class KeySlot:
    """A label: its current credentials, and the limiter its requests are admitted by."""

    __slots__ = ("current", "handle", "label", "limiter", "own_limiter")

    def __init__(self, credentials: Credentials, limiter: Limiter | None) -> None:
        self.label = credentials.label
        self.current = _Generation(credentials)
        # Per-key budgets give a slot its own limiter; otherwise the pipeline binds the
        # shared one (``KeyRing.bind``).
        self.limiter = limiter
        self.own_limiter = limiter is not None
        self.handle: LimiterHandle | None = None

    @property
    def credentials(self) -> Credentials:
        return self.current.credentials

    def __repr__(self) -> str:
        return f"KeySlot(label={self.label!r})"


class KeyRing:
    """The keys of one client (see the module docstring)."""

    __slots__ = ("_routing", "_slots", "routes")

    def __init__(
        self,
        keys: Sequence[Credentials],
        *,
        routing: Routing = None,
        limiters: Mapping[str, Limiter] | None = None,
    ) -> None:
        self._slots: dict[str, KeySlot] = {}
        for credentials in keys:
            if not isinstance(credentials, Credentials):
                raise InvalidParameterError(
                    f"keys must hold Credentials, got {type(credentials).__name__}"
                )
            if credentials.label in self._slots:
                raise InvalidParameterError(
                    f"two keys are labelled {credentials.label!r}: give each key its own "
                    "label (Credentials(..., label='reader'))"
                )
            limiter = None
            if limiters is not None:
                limiter = limiters.get(credentials.label)
                if limiter is None:
                    raise InvalidParameterError(
                        f"limiter has no entry for key {credentials.label!r}: per-key budgets "
                        "need one limiter per label"
                    )
            self._slots[credentials.label] = KeySlot(credentials, limiter)
        if limiters is not None:
            stray = sorted(set(limiters) - set(self._slots))
            if stray:
                raise InvalidParameterError(f"limiter names no key labelled {stray[0]!r}")
        self._routing = _check_routing(routing, self._slots)
        # Route name -> the slot that signs it (None: no key covers it). The pipeline
        # holds this very dict; rotation updates it in place.
        self.routes: dict[str, KeySlot | None] = self._table(self._current())

    # -- configuration -------------------------------------------------------------------

    @property
    def slots(self) -> Mapping[str, KeySlot]:
        return self._slots

    def bind(self, limiter: Limiter | None, handle: LimiterHandle | None) -> None:
        """Give every slot its limiter handle: its own limiter's, or the shared one."""
        for slot in self._slots.values():
            if slot.own_limiter:
                assert slot.limiter is not None
                slot.handle = slot.limiter.handle()
            else:
                slot.limiter, slot.handle = limiter, handle

    def close_handles(self) -> None:
        for slot in self._slots.values():
            if slot.own_limiter and slot.handle is not None:
                slot.handle.close()

    def owned_limiters(self) -> list[Limiter]:
        return [slot.limiter for slot in self._slots.values() if slot.own_limiter and slot.limiter]

    def _current(self) -> dict[str, Credentials]:
        return {label: slot.credentials for label, slot in self._slots.items()}

    def _table(self, keys: Mapping[str, Credentials]) -> dict[str, KeySlot | None]:
        table: dict[str, KeySlot | None] = {}
        for route in _SIGNED:
            label = self._chosen(route, keys)
            table[route.name] = None if label is None else self._slots[label]
        return table

    def _chosen(self, route: Route, keys: Mapping[str, Credentials]) -> str | None:
        permission = route.permission
        routing = self._routing
        label: str | None = None
        if callable(routing):
            label = routing(route.name, permission)
            if label is not None and label not in keys:
                raise InvalidParameterError(
                    f"routing chose {label!r} for {route.name}, but no key has that label "
                    f"(labels: {', '.join(map(repr, keys))})"
                )
        elif routing is not None:
            for entry in (route.name, permission, scope_of(permission).value):
                label = routing.get(entry)
                if label is not None:
                    break
        if label is not None:
            if not keys[label].covers(permission):
                raise InvalidParameterError(
                    f"routing sends {route.name} to key {label!r}, whose permissions "
                    f"({summary(keys[label].permissions)}) do not include {describe(permission)}"
                )
            return label
        for name, credentials in keys.items():
            if credentials.covers(permission):
                return name
        return None

    # -- the pipeline's cold paths -------------------------------------------------------

    def missing(self, route: Route, method: str, path: str) -> MissingCredentialsError:
        """The error of a signed call no key covers."""
        permission = route.permission
        keys = ", ".join(
            f"{label!r} ({summary(slot.credentials.permissions)})"
            for label, slot in self._slots.items()
        )
        scope = scope_of(permission).value
        return MissingPermissionError(
            f"{route.name} needs the permission {describe(permission)} and no key of this "
            f"client was said to have it (keys: {keys}); add a key that has it, e.g. "
            f"Credentials(api_key, api_secret, label=..., permissions={{{scope!r}}})",
            method=method,
            path=path,
            permission=permission,
        )

    # -- rotation ------------------------------------------------------------------------

    def rotate(self, credentials: Credentials) -> Awaitable[None]:
        """Swap the key labelled ``credentials.label`` now (see the module docstring);
        the result, awaited, ends once the old key has no request awaiting an answer."""
        if not isinstance(credentials, Credentials):
            raise InvalidParameterError(
                f"rotate_key takes Credentials, got {type(credentials).__name__}"
            )
        slot = self._slots.get(credentials.label)
        if slot is None:
            raise InvalidParameterError(
                f"no key labelled {credentials.label!r} to rotate (labels: "
                f"{', '.join(map(repr, self._slots))}); give the new Credentials the label "
                "of the key it replaces"
            )
        old = slot.current
        if old.credentials == credentials:
            return _DRAINED
        keys = self._current()
        keys[credentials.label] = credentials
        table = self._table(keys)  # raises, before anything changed, if routing breaks
        slot.current = _Generation(credentials)
        self.routes.update(table)
        old.retired = True
        if not old.in_flight:
            return _DRAINED
        # Requests are in flight, so a loop runs: the last of them resolves this.
        old.drained = asyncio.get_running_loop().create_future()
        return old.drained


class _Drained:
    """An awaitable that is already done: no request of the old key was in flight."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        return
        yield


_DRAINED = _Drained()


def _check_routing(routing: Routing, slots: Mapping[str, KeySlot]) -> Routing:
    if routing is None or callable(routing):
        return routing
    if not isinstance(routing, Mapping):
        raise InvalidParameterError(
            "routing must be a mapping (route, permission or scope -> label) or a callable"
        )
    names = {route.name for route in _SIGNED} | FINE_PERMISSIONS | {p.value for p in Permission}
    checked: dict[str, str] = {}
    for name, label in routing.items():
        key = name.value if isinstance(name, Permission) else name
        if key not in names:
            raise InvalidParameterError(
                f"routing names {name!r}, which is no signed route, permission or scope"
            )
        if label not in slots:
            raise InvalidParameterError(
                f"routing sends {name!r} to {label!r}, but no key has that label "
                f"(labels: {', '.join(map(repr, slots))})"
            )
        checked[key] = label
    return checked
