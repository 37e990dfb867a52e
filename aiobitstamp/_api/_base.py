"""What every area mixin relies on: the route-calling primitive and the market check."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

from .._markets import MarketCatalogue
from .._models import Currency, Market, Rows
from .._pipeline import Pipeline
from .._routes import ROUTES

__all__ = ["ApiBase", "rows"]

T = TypeVar("T")
M = TypeVar("M", covariant=True)


class ApiBase:
    """Base of every area mixin. ``Client.__init__`` sets these attributes."""

    _pipeline: Pipeline
    _catalogue: MarketCatalogue
    _verbs: Mapping[str, str]
    # Listed currencies by lower-case code, filled by currencies(); funding checks use it.
    _currency_index: dict[str, Currency] | None = None

    async def currencies(self) -> Rows[Currency]:
        """Every listed currency (declared here; ``MarketDataAPI`` serves it)."""
        raise NotImplementedError

    def _call(
        self,
        name: str,
        parse: Callable[[Any], T],
        *,
        path: Mapping[str, str] | None = None,
        query: Mapping[str, str | int] | None = None,
        form: Mapping[str, str] | None = None,
    ) -> Awaitable[T]:
        """Send the route called ``name`` with already checked, wire-ready values.

        Returns the pipeline's coroutine itself rather than awaiting it here: one frame
        less on every request."""
        entry = ROUTES[name]
        return self._pipeline.send(
            entry,
            entry.path(path),
            query=query,
            form=form,
            parse=parse,
            method=self._verbs.get(name),
        )

    def _listed(self, pair: object) -> tuple[str, Market] | None:
        """``_market(pair)`` without a coroutine, when the catalogue is loaded and lists
        ``pair`` as given (every call after the first); None means ask ``_market``."""
        markets = self._catalogue.loaded
        if markets is not None and pair.__class__ is str:
            # A listed symbol of exact type str is well formed.
            found = markets.get(pair)
            if found is not None:
                return found.market_symbol, found
        return None

    async def _market(self, pair: object) -> tuple[str, Market | None]:
        """The exact symbol to send for ``pair`` and its catalogue entry (when checked)."""
        return self._listed(pair) or await self._catalogue.check(pair)


class _Parsable(Protocol[M]):
    @classmethod
    def from_wire(cls, obj: Any) -> M: ...


def rows(model: type[_Parsable[M]]) -> Callable[[Any], Rows[M]]:
    """A parser for a JSON array of ``model`` rows: a lazy view, each row parsed when read."""
    parse_row = model.from_wire

    def parse(payload: Any) -> Rows[M]:
        return Rows(payload, parse_row)

    return parse
