"""``aiobitstamp keys``: see what each configured key can do, or revoke them all.

``keys check`` tries every configured key (the environment's ``BITSTAMP_API_KEY``, then
the config file's top-level key and its ``[keys.LABEL]`` tables) against one cheap call per
scope, chosen so that none of them changes anything:

=========== ========================================== =========================================
scope       call                                       why it is harmless
=========== ========================================== =========================================
read        ``account_balances``                       a read
trade       ``cancel_order`` of an order that is none  "order not found" proves the permission
withdraw    ``withdrawal/cancel/`` of a withdrawal     "not found" proves the permission
            that is none
earn        ``earn/subscriptions/``                    a read
kill_switch not tried                                  trying it would revoke every key
=========== ========================================== =========================================

and tells apart the three ways a key fails: unknown to the exchange (a typo, stray
whitespace, not activated, revoked: API0001/API0011), a secret that does not match
(API0005), an address not on the key's allow-list (API0002), and a missing permission
(API0003). It never prints a secret; keys show as their first four characters.

``keys revoke-all`` is the kill switch: every key of the account stops working at once.
It asks first, unless ``--yes``; without a terminal to ask on it refuses without ``--yes``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .._auth import Credentials
from .._exceptions import (
    AuthenticationError,
    BitstampError,
    ExchangeError,
    MissingCredentialsError,
    PermissionDeniedError,
    TransportError,
)
from .._key_sources import default_keys_path, load_keys
from .._retry import RetryPolicy
from .._transport import Timeouts
from ._errors import CommandError, ExitCode
from ._output import Output, Table
from ._session import StreamingClient, embedded_emulator

if TYPE_CHECKING:
    from ._app import Run

__all__ = ["keys"]

# Codes after which nothing else about the key can be learnt.
_FATAL = {
    "API0001": "unknown key: check it for typos and stray whitespace, that it was activated "
    "and not revoked, and that --base-url is the exchange it was made on",
    "API0011": "malformed key: check it for typos, stray whitespace and quotes",
    "API0005": "wrong secret: the secret does not belong to this key (check it for typos)",
    "API0002": "address not allowed: this machine's IP is not on the key's allow-list",
    "API0006": "account frozen",
    "API0008": "authentication failed: the exchange has no customer for this key",
}
_FOUND_NONE = "99999999999"  # an id no order or withdrawal has, for the harmless probes


@dataclass(frozen=True)
class _Probe:
    scope: str
    call: str
    run: Callable[[StreamingClient], Awaitable[Any]] | None


_PROBES = (
    _Probe("read", "account_balances", lambda client: client.account_balances()),
    _Probe("trade", "cancel_order", lambda client: client.cancel_order(_FOUND_NONE)),
    _Probe("withdraw", "cancel_withdrawal", lambda client: client.cancel_withdrawal(_FOUND_NONE)),
    _Probe("earn", "earn_subscriptions", lambda client: client.earn_subscriptions()),
    _Probe("kill_switch", "revoke_all_api_keys", None),
)


@click.group()
def keys() -> None:
    """Your API keys: what each one can do (check), or revoke them all (revoke-all)."""


# -- loading ------------------------------------------------------------------------------


def configured_keys(run: Run) -> list[Credentials]:
    """The keys a command can use: the environment's first, then the config file's."""
    found: list[Credentials] = []
    if os.environ.get("BITSTAMP_API_KEY") or os.environ.get("BITSTAMP_API_SECRET"):
        found.append(Credentials.from_env())
    named = run.config or os.environ.get("AIOBITSTAMP_CONFIG")
    path = Path(named).expanduser() if named else default_keys_path()
    if named or path.is_file():
        try:
            from_file = load_keys(path)
        except MissingCredentialsError:
            if named and not path.exists():
                raise
            from_file = []
        labels = {key.label for key in found}
        # The environment wins over the file for the label they share, as for every
        # other command.
        found += [key for key in from_file if key.label not in labels]
    return found


def _client(run: Run, base_url: str, ws_url: str, keys: list[Credentials]) -> StreamingClient:
    return StreamingClient(
        keys=keys,
        base_url=base_url,
        ws_url=ws_url,
        timeouts=Timeouts(total=run.timeout, connect=min(run.timeout, 5.0)),
        retry=RetryPolicy(max_attempts=run.retries),
    )


@contextlib.asynccontextmanager
async def _target(run: Run) -> Any:
    """(base_url, ws_url, keys) of this run: the embedded emulator's, or the configured."""
    if run.emulator:
        async with embedded_emulator() as (_, settings):
            assert settings.api_key is not None and settings.api_secret is not None
            yield (
                settings.base_url,
                settings.ws_url,
                [Credentials(settings.api_key, settings.api_secret, label="emulator")],
            )
        return
    settings = run.settings()
    keys = configured_keys(run)
    if not keys:
        raise MissingCredentialsError("no key is configured")
    yield settings.base_url, settings.ws_url, keys


# -- check --------------------------------------------------------------------------------


async def _check_one(run: Run, base_url: str, ws_url: str, key: Credentials) -> list[list[str]]:
    """One row per scope: [label, key, scope, said, result, detail]."""
    # Everything is tried, whatever the key was said to have: the point is to find out.
    probe_key = key.replace(permissions=None)
    said = key.permissions
    rows: list[list[str]] = []
    shown = key.api_key[:4] + "…"
    stop: str | None = None
    client = _client(run, base_url, ws_url, [probe_key])
    async with client:
        for probe in _PROBES:
            declared = "yes" if said is None or key.covers(_fine(probe.call)) else "no"
            if said is None:
                declared = "?"
            if probe.run is None:
                result, detail = "not tried", "trying it would revoke every key"
            elif stop is not None:
                result, detail = "not tried", stop
            else:
                result, detail, fatal = await _try(probe, client)
                if fatal:
                    stop = "the key itself failed"
            rows.append([key.label, shown, probe.scope, declared, result, detail])
    return rows


def _fine(call: str) -> str:
    from .._routes import ROUTES

    return ROUTES[call].permission


async def _try(probe: _Probe, client: StreamingClient) -> tuple[str, str, bool]:
    assert probe.run is not None
    try:
        await probe.run(client)
    except (AuthenticationError, PermissionDeniedError) as error:
        code = error.code or ""
        if code in _FATAL:
            return "refused", f"{code} {_FATAL[code]}", True
        if code == "API0003":
            return "no permission", f"API0003: {probe.call} needs it", False
        return "refused", (error.reason or str(error))[:120], False
    except ExchangeError as error:
        # Past the auth layer: the exchange looked at the request itself, so the key is
        # allowed to make it ("order not found" for the harmless cancel).
        return "works", f"{error.code or error.status}: {(error.reason or '')[:80]}", False
    except TransportError as error:
        return "unreachable", type(error).__name__, True
    except BitstampError as error:
        return "error", type(error).__name__, False
    return "works", "", False


@keys.command()
@click.pass_obj
def check(run: Run) -> None:
    """Try each configured key with one harmless call per scope; say what works.

    Exit code 0 when every key works for every scope it was said to have (and, when its
    permissions were not said, for at least one), 4 otherwise. Secrets are never shown.
    """

    async def work() -> None:
        async with _target(run) as (base_url, ws_url, configured):
            rows: list[list[str]] = []
            for key in configured:
                rows += await _check_one(run, base_url, ws_url, key)
        _report(run.output, rows)
        failing = _failing(rows)
        if failing:
            raise CommandError(f"keys with problems: {', '.join(failing)}", ExitCode.AUTH)

    run.run_async(work)


def _failing(rows: list[list[str]]) -> list[str]:
    failing: list[str] = []
    by_label: dict[str, list[list[str]]] = {}
    for row in rows:
        by_label.setdefault(row[0], []).append(row)
    for label, mine in by_label.items():
        tried = [row for row in mine if row[4] != "not tried" or row[5] == "the key itself failed"]
        refused = any(row[4] in ("refused", "unreachable", "error") for row in tried)
        missing = any(row[3] == "yes" and row[4] != "works" for row in tried)
        none_work = not any(row[4] == "works" for row in mine)
        if refused or missing or none_work:
            failing.append(label)
    return failing


def _report(output: Output, rows: list[list[str]]) -> None:
    columns = ("label", "key", "scope", "said", "result", "detail")
    colours = {"works": "green", "no permission": "yellow", "refused": "red"}
    table = Table(
        columns=columns,
        rows=rows,
        title="API keys",
        style=lambda index, row: colours.get(row[4]) if index == 4 else None,
    )
    output.table(table)


# -- revoke-all ---------------------------------------------------------------------------


@keys.command("revoke-all")
@click.option("--yes", is_flag=True, help="Do not ask (for scripts).")
@click.option("--key", "label", metavar="LABEL", help="Send it with this configured key.")
@click.pass_obj
def revoke_all(run: Run, yes: bool, label: str | None) -> None:
    """The kill switch: revoke EVERY API key of the account, at once.

    Every key of the account stops working, the one sending this included, and not only
    the keys configured here. Asks for confirmation unless --yes.
    """

    async def work() -> None:
        async with _target(run) as (base_url, ws_url, configured):
            chosen = configured
            if label is not None:
                chosen = [key for key in configured if key.label == label]
                if not chosen:
                    labels = ", ".join(key.label for key in configured)
                    raise CommandError(f"no configured key {label!r} (there are: {labels})")
            if not yes:
                _confirm(run.output, chosen)
            async with _client(run, base_url, ws_url, chosen) as client:
                sender = client.key_for("revoke_all_api_keys")
                revoked = await client.revoke_all_api_keys()
        shown = [key[:4] + "…" for key in revoked.api_keys]
        if run.output.json:
            run.output.json_document(
                {"revoked": revoked.count, "api_keys": shown, "sent_with": sender.label}
            )
        else:
            run.output.line(
                f"revoked {revoked.count} API key(s) ({', '.join(shown) or 'none'}), "
                f"sent with key {sender.label!r}; create new keys at the exchange to go on"
            )

    run.run_async(work)


def _confirm(output: Output, chosen: list[Credentials]) -> None:
    if not sys.stdin.isatty():
        raise CommandError(
            "revoke-all revokes every API key of the account; without a terminal to ask "
            "on, add --yes to confirm",
            ExitCode.USAGE,
        )
    labels = ", ".join(key.label for key in chosen)
    output.note(
        "This revokes EVERY API key of the account, at once: every bot and script using "
        f"any of them stops (keys configured here: {labels})."
    )
    if not click.confirm("Revoke all API keys now?", default=False, err=True):
        raise CommandError("nothing was revoked", ExitCode.USAGE)
