"""The route table covers every endpoint of the shared endpoint list, exactly once."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from aiobitstamp._routes import ROUTES, Repeat

ENDPOINTS = Path(__file__).resolve().parents[2] / "shared" / "bitstamp-endpoints.tsv"
FALLBACK = Path(__file__).resolve().parent / "data" / "bitstamp-endpoints.tsv"


def _endpoints() -> list[tuple[str, str]]:
    source = ENDPOINTS if ENDPOINTS.exists() else FALLBACK
    with source.open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [(row["method"], row["path"].removeprefix("/api/v2/")) for row in rows]


def test_the_endpoint_list_is_available() -> None:
    assert len(_endpoints()) == 61


@pytest.mark.parametrize(("method", "path"), _endpoints())
def test_every_listed_endpoint_has_a_route(method: str, path: str) -> None:
    matches = [r for r in ROUTES.values() if r.template == path]
    assert matches, f"no route for {method} {path}"
    # A path may carry two verbs (travel-rule contacts: GET lists, POST creates).
    verbs = {r.method for r in matches}
    disputed = any(r.verb_disputed for r in matches)
    assert method in verbs or disputed, f"{path}: route verbs {verbs}, list says {method}"


def test_routes_are_unique_by_verb_and_path() -> None:
    keys = [(r.method, r.template) for r in ROUTES.values()]
    assert len(keys) == len(set(keys))


def test_every_path_ends_with_a_slash_and_has_no_leading_slash() -> None:
    for entry in ROUTES.values():
        assert entry.template.endswith("/") and not entry.template.startswith("/"), entry


def test_public_routes_are_unsigned_reads_and_private_ones_name_a_permission() -> None:
    for entry in ROUTES.values():
        if entry.signed:
            assert entry.permission, entry.name
        else:
            assert entry.method == "GET" and entry.repeat is Repeat.READ, entry.name


def test_writes_are_never_plain_reads() -> None:
    writes = {
        "buy_limit",
        "sell_market",
        "replace_order",
        "withdraw",
        "transfer_to_main",
        "earn_subscribe",
        "withdraw_bank",
        "create_travel_rule_contact",
    }
    for name in writes:
        assert ROUTES[name].repeat in (Repeat.ORDER, Repeat.ONCE), name


def test_path_fills_placeholders() -> None:
    assert ROUTES["deposit_address"].path({"currency": "btc"}) == "btc_address/"
    assert ROUTES["ticker"].path({"market_symbol": "btcusd"}) == "ticker/btcusd/"
    assert ROUTES["tickers"].path() == "ticker/"
