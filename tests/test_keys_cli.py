"""``aiobitstamp keys check`` and ``aiobitstamp keys revoke-all`` against the emulator, run
in this process (the emulator serves from a thread of its own), never printing a secret."""

from __future__ import annotations

import asyncio
import contextlib
import io
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest

from aiobitstamp.cli import main
from aiobitstamp.testing import FakeBitstamp

from ._keys_support import SECRETS, no_secret_escapes, secret

__all__ = ["no_secret_escapes"]  # the autouse fixture, imported to run here

T = TypeVar("T")
_GUARD = 60.0  # a failure guard, never a synchronisation

MAIN_SECRET, READ_SECRET, TRADE_SECRET = secret("CliMain"), secret("CliRead"), secret("CliTrade")
FENCED_SECRET, WRONG_SECRET = secret("CliFenced"), secret("CliWrong")


class Exchange:
    """A FakeBitstamp serving from its own thread and event loop."""

    def __init__(self, fake: FakeBitstamp, loop: asyncio.AbstractEventLoop) -> None:
        self.fake = fake
        self._loop = loop

    def call(self, function: Callable[[], T]) -> T:
        """Run ``function`` on the emulator's loop (its state is that loop's)."""

        async def run() -> T:
            return function()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(_GUARD)


@contextlib.contextmanager
def exchange() -> Iterator[Exchange]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="emulator", daemon=True)
    thread.start()
    fake = FakeBitstamp(rate_limits=None)
    try:
        asyncio.run_coroutine_threadsafe(fake.start(), loop).result(_GUARD)
        yield Exchange(fake, loop)
    finally:
        asyncio.run_coroutine_threadsafe(fake.close(), loop).result(_GUARD)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(_GUARD)
        loop.close()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("BITSTAMP_API_KEY", "BITSTAMP_API_SECRET", "AIOBITSTAMP_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    return tmp_path


def config(home: Path, text: str, mode: int = 0o600) -> Path:
    path = home / "keys.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


def accounts(fake: FakeBitstamp) -> None:
    account = fake.add_account("mainkey1", MAIN_SECRET, {"usd": "100"})
    fake.add_api_key(account, "readkey1", READ_SECRET, permissions={"read"})
    fake.add_api_key(account, "tradekey1", TRADE_SECRET, permissions={"trade", "kill_switch"})
    fake.add_api_key(account, "fencedkey1", FENCED_SECRET, allowed_ips={"192.0.2.7"})


MIXED = f"""
[keys.reader]
api_key = "readkey1"
api_secret = "{READ_SECRET}"
permissions = ["read"]

[keys.trader]
api_key = "tradekey1"
api_secret = "{TRADE_SECRET}"
permissions = ["read", "trade", "kill_switch"]

[keys.typo]
api_key = "readkey2"
api_secret = "{READ_SECRET}"

[keys.fenced]
api_key = "fencedkey1"
api_secret = "{FENCED_SECRET}"

[keys.secret]
api_key = "readkey1"
api_secret = "{WRONG_SECRET}"
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    for text in (captured.out, captured.err):
        for value in SECRETS:
            assert value not in text, "a secret was printed"
    return code, captured.out, captured.err


def rows(out: str) -> dict[tuple[str, str], list[str]]:
    lines = [line.split("\t") for line in out.strip().splitlines()]
    assert lines[0] == ["label", "key", "scope", "said", "result", "detail"]
    return {(line[0], line[2]): line for line in lines[1:]}


def test_keys_check_tells_typo_secret_address_and_permission_apart(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with exchange() as running:
        running.call(lambda: accounts(running.fake))
        path = config(home, MIXED)
        code, out, err = run(
            capsys, "--config", str(path), "--base-url", running.fake.url, "keys", "check"
        )
    table = rows(out)
    assert code == 4
    assert "keys with problems: trader, typo, fenced, secret" in err
    assert table[("reader", "read")][1:5] == ["read…", "read", "yes", "works"]
    assert table[("reader", "trade")][3:5] == ["no", "no permission"]
    assert table[("reader", "kill_switch")][4:] == ["not tried", "trying it would revoke every key"]
    # Said to have read, has not: a problem; trading works (order not found proves it).
    assert table[("trader", "read")][3:5] == ["yes", "no permission"]
    assert table[("trader", "trade")][4] == "works"
    assert table[("trader", "trade")][5].startswith("404.002")
    typo = table[("typo", "read")]
    assert typo[4] == "refused" and typo[5].startswith("API0001 unknown key: check it for typos")
    assert table[("typo", "trade")][4:] == ["not tried", "the key itself failed"]
    assert table[("fenced", "read")][5].startswith("API0002 address not allowed")
    assert table[("secret", "read")][5].startswith("API0005 wrong secret")


def test_keys_check_passes_when_every_key_works_and_answers_json(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = f'api_key = "mainkey1"\napi_secret = "{MAIN_SECRET}"\n'
    with exchange() as running:
        running.call(lambda: accounts(running.fake))
        path = config(home, good)
        code, out, _ = run(
            capsys, "--json", "--config", str(path), "--base-url", running.fake.url,
            "keys", "check",
        )  # fmt: skip
    assert code == 0
    found = orjson.loads(out)
    assert [row["scope"] for row in found] == ["read", "trade", "withdraw", "earn", "kill_switch"]
    assert {row["result"] for row in found[:4]} == {"works"}
    assert all(row["label"] == "default" and row["key"] == "main…" for row in found)


def test_keys_check_takes_the_environment_first(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with exchange() as running:
        running.call(lambda: accounts(running.fake))
        # The file's "default" is a typo; the environment's key of that label wins.
        path = config(home, f'api_key = "nosuchkey"\napi_secret = "{MAIN_SECRET}"\n')
        monkeypatch.setenv("BITSTAMP_API_KEY", "readkey1")
        monkeypatch.setenv("BITSTAMP_API_SECRET", READ_SECRET)
        monkeypatch.setenv("BITSTAMP_KEY_PERMISSIONS", "read")
        code, out, _ = run(
            capsys, "--config", str(path), "--base-url", running.fake.url, "keys", "check"
        )
    assert code == 0
    assert {label for label, _ in rows(out)} == {"default"}
    assert rows(out)[("default", "read")][1] == "read…"


def test_keys_check_refuses_a_config_file_others_can_read(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config(home, MIXED, 0o644)
    code, out, err = run(capsys, "--config", str(path), "keys", "check")
    assert code == 4 and out == ""
    assert "0644" in err and f"chmod 600 {path}" in err


def test_keys_check_without_keys_says_so(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "keys", "check")
    assert code == 4
    assert "no key is configured" in err


def test_keys_check_on_the_embedded_emulator(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "--emulator", "keys", "check")
    assert code == 0
    assert rows(out)[("emulator", "read")][4] == "works"


def test_revoke_all_refuses_without_yes_when_it_cannot_ask(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with exchange() as running:
        running.call(lambda: accounts(running.fake))
        path = config(home, MIXED)
        code, _, err = run(
            capsys, "--config", str(path), "--base-url", running.fake.url, "keys", "revoke-all"
        )
        assert code == 2
        assert "add --yes to confirm" in err
        assert running.call(lambda: len(running.fake.accounts)) == 4  # nothing revoked


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "revoked"), [("n\n", False), ("y\n", True)])
def test_revoke_all_asks_first_at_a_terminal(
    home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
    revoked: bool,
) -> None:
    with exchange() as running:
        running.call(lambda: accounts(running.fake))
        path = config(home, MIXED)
        monkeypatch.setattr("sys.stdin", Terminal(answer))
        code, out, err = run(
            capsys, "--config", str(path), "--base-url", running.fake.url, "keys", "revoke-all"
        )
        left = running.call(lambda: sorted(running.fake.accounts))
    assert "revokes EVERY API key of the account" in err
    if revoked:
        assert code == 0 and left == []
        assert "revoked 4 API key(s)" in out and "sent with key 'trader'" in out
    else:
        assert code == 2 and "nothing was revoked" in err
        assert left == ["fencedkey1", "mainkey1", "readkey1", "tradekey1"]


def test_revoke_all_with_yes_ends_every_key_at_once(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with exchange() as running:
        running.call(lambda: accounts(running.fake))
        path = config(home, MIXED)
        target = ("--config", str(path), "--base-url", running.fake.url)
        code, out, _ = run(capsys, "--json", *target, "keys", "revoke-all", "--yes")
        assert code == 0
        answer: dict[str, Any] = orjson.loads(out)
        assert answer["revoked"] == 4 and answer["sent_with"] == "trader"
        assert sorted(answer["api_keys"]) == ["fenc…", "main…", "read…", "trad…"]
        code, out, _ = run(capsys, *target, "keys", "check")
    assert code == 4
    assert {row[5][:7] for key, row in rows(out).items() if key[1] == "read"} == {"API0001"}


def test_revoke_all_with_a_chosen_key(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with exchange() as running:
        running.call(lambda: accounts(running.fake))
        path = config(home, MIXED)
        target = ("--config", str(path), "--base-url", running.fake.url)
        code, _, err = run(capsys, *target, "keys", "revoke-all", "--yes", "--key", "nobody")
        assert code == 2 and "no configured key 'nobody'" in err
        # The reader may not revoke (the exchange says API0003): nothing happens.
        code, _, err = run(capsys, *target, "keys", "revoke-all", "--yes", "--key", "reader")
        assert code == 4
        assert "revoke_all_api_keys needs the permission 'revoke_api_keys'" in err
        assert running.call(lambda: len(running.fake.accounts)) == 4
