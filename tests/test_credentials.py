"""Credentials: labels and permissions, checked locally; loading from the environment, a
private file and the keyring, never leaking a secret."""

from __future__ import annotations

import os
import pickle
import stat
import sys
import traceback
import types
from pathlib import Path

import pytest

from aiobitstamp import (
    BitstampError,
    Credentials,
    InvalidCredentialsError,
    InvalidParameterError,
    MissingCredentialsError,
    Permission,
    load_keys,
)
from aiobitstamp._key_sources import default_keys_path, parse_simple_toml
from aiobitstamp._permissions import FINE_PERMISSIONS, SCOPES, grants, scope_of
from aiobitstamp._routes import ROUTES

from ._keys_support import leaks, no_secret_escapes, rendered, secret

__all__ = ["no_secret_escapes"]  # the autouse fixture, imported to run here

SECRET = secret("Cred")
OTHER = secret("Other")


# -- permissions --------------------------------------------------------------------------


def test_every_route_permission_is_in_exactly_one_scope() -> None:
    signed = {route.permission for route in ROUTES.values() if route.signed}
    assert signed == FINE_PERMISSIONS
    seen: list[str] = [name for names in SCOPES.values() for name in names]
    assert sorted(seen) == sorted(signed)  # each once, none missing, none invented
    assert scope_of("buy_limit_order") is Permission.TRADE
    assert scope_of("account_balances") is Permission.READ
    assert scope_of("withdrawal") is Permission.WITHDRAW
    assert scope_of("revoke_api_keys") is Permission.KILL_SWITCH


@pytest.mark.parametrize(
    ("said", "covered", "not_covered"),
    [
        (None, ["buy_limit_order", "withdrawal", "account_balances"], []),
        ({"read"}, ["account_balances", "open_orders"], ["cancel_order", "withdrawal"]),
        ({Permission.TRADE}, ["cancel_order", "sell_market_order"], ["account_balances"]),
        ("withdraw", ["withdrawal", "transfer", "deposit_address"], ["earn"]),
        ({"cancel_order", "read"}, ["cancel_order", "user_transactions"], ["buy_limit_order"]),
        (["kill_switch"], ["revoke_api_keys"], ["account_balances"]),
    ],
)
def test_scopes_and_fine_names_say_what_a_key_covers(
    said: object, covered: list[str], not_covered: list[str]
) -> None:
    credentials = Credentials("key1", SECRET, label="k", permissions=said)  # type: ignore[arg-type]
    for name in covered:
        assert credentials.covers(name), name
    for name in not_covered:
        assert not credentials.covers(name), name


def test_permissions_are_kept_as_said_and_expanded_for_routing() -> None:
    credentials = Credentials("key1", SECRET, permissions={Permission.READ, "cancel_order"})
    assert credentials.permissions == frozenset({"read", "cancel_order"})
    assert all(type(name) is str for name in credentials.permissions)
    assert grants(credentials.permissions) == SCOPES[Permission.READ] | {"cancel_order"}


@pytest.mark.parametrize(
    ("said", "message"),
    [
        ({"trad"}, "unknown permission 'trad' (did you mean 'trade'?)"),
        ({"withdrawals"}, "did you mean 'withdrawal'?"),
        (set(), "is empty"),
        ({5}, "holds a int"),
        (b"read", "must be None, a name or a set of names, got bytes"),
        ({"read": True}, "got dict"),
        (7, "got int"),
    ],
)
def test_a_wrong_permission_is_refused_saying_why(said: object, message: str) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        Credentials("key1", SECRET, permissions=said)  # type: ignore[arg-type]
    assert message in str(caught.value)
    # Said through Credentials: the credentials' own error, a ValueError too.
    assert isinstance(caught.value, InvalidCredentialsError)
    assert isinstance(caught.value, ValueError)


# -- labels, repr, value -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("", "empty or has spaces around it"),
        (" bot", "empty or has spaces around it"),
        ("bot\n", "empty or has spaces around it"),
        ("b\x00t", "control character"),
        ("x" * 65, "longer than 64"),
        (5, "label must be a str, got int"),
    ],
)
def test_a_bad_label_is_refused(label: object, message: str) -> None:
    with pytest.raises(InvalidCredentialsError, match=message):
        Credentials("key1", SECRET, label=label)  # type: ignore[arg-type]


def test_repr_shows_label_and_permissions_never_the_secret() -> None:
    plain = Credentials("key1", SECRET)
    assert repr(plain) == "Credentials(api_key='key1', api_secret=<hidden>)"
    assert plain.label == "default" and plain.permissions is None
    labelled = Credentials("key1", SECRET, label="bot", permissions={"trade", "read"})
    assert repr(labelled) == (
        "Credentials(api_key='key1', api_secret=<hidden>, label='bot', "
        "permissions=['read', 'trade'])"
    )
    assert SECRET not in repr(labelled) + str(labelled)
    assert labelled.masked_key == "'key1…', 4 characters"


def test_equality_pickle_and_replace_keep_label_and_permissions() -> None:
    credentials = Credentials("key1", SECRET, label="bot", permissions={"trade"})
    assert credentials == Credentials("key1", SECRET, label="bot", permissions={"trade"})
    assert credentials != Credentials("key1", SECRET, label="other", permissions={"trade"})
    assert credentials != Credentials("key1", SECRET, label="bot")
    assert credentials != Credentials("key1", OTHER, label="bot", permissions={"trade"})
    assert pickle.loads(pickle.dumps(credentials)) == credentials
    relabelled = credentials.replace(label="bot2")
    assert relabelled.label == "bot2" and relabelled.permissions == {"trade"}
    assert relabelled.api_secret == SECRET
    widened = credentials.replace(permissions=None)
    assert widened.permissions is None and widened.label == "bot"
    assert credentials.replace() == credentials


# -- environment --------------------------------------------------------------------------


def test_from_env_reads_key_secret_label_and_permissions() -> None:
    env = {
        "BITSTAMP_API_KEY": "envkey1",
        "BITSTAMP_API_SECRET": SECRET,
        "BITSTAMP_KEY_LABEL": "bot",
        "BITSTAMP_KEY_PERMISSIONS": "read, trade",
    }
    credentials = Credentials.from_env(environ=env)
    assert credentials == Credentials("envkey1", SECRET, label="bot", permissions={"read", "trade"})
    other = Credentials.from_env(
        "BOT2", environ={"BOT2_API_KEY": "k2", "BOT2_API_SECRET": OTHER}, label="second"
    )
    assert other.label == "second" and other.api_key == "k2" and other.permissions is None


def test_from_env_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYBOT_API_KEY", "osenvkey")
    monkeypatch.setenv("MYBOT_API_SECRET", SECRET)
    assert Credentials.from_env("MYBOT").api_key == "osenvkey"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "BITSTAMP_API_KEY and BITSTAMP_API_SECRET are not set"),
        ({"BITSTAMP_API_KEY": "k"}, "BITSTAMP_API_SECRET is not set"),
        ({"BITSTAMP_API_SECRET": SECRET}, "BITSTAMP_API_KEY is not set"),
    ],
)
def test_from_env_names_what_is_missing(env: dict[str, str], message: str) -> None:
    with pytest.raises(MissingCredentialsError, match=message):
        Credentials.from_env(environ=env)


@pytest.mark.parametrize("bad", [SECRET + "\n", SECRET + "\r", " " + SECRET, '"' + SECRET + ' "'])
def test_from_env_refuses_a_pasted_secret_without_showing_it(bad: str) -> None:
    env = {"BITSTAMP_API_KEY": "k1", "BITSTAMP_API_SECRET": bad}
    with pytest.raises(InvalidCredentialsError) as caught:
        Credentials.from_env(environ=env)
    message = str(caught.value)
    assert "BITSTAMP_API_KEY/BITSTAMP_API_SECRET: api_secret holds whitespace" in message
    assert not leaks([rendered(caught.value)])
    # No chained exception, and no frame of the library shows the value.
    assert caught.value.__context__ is None and caught.value.__cause__ is None


# -- files --------------------------------------------------------------------------------

KEY_FILE = f"""
# the command line's settings are skipped
base_url = "http://127.0.0.1:1"
api_key = "topkey1"
api_secret = "{SECRET}"

[keys.reader]
api_key = "readkey1"
api_secret = "{OTHER}"
permissions = ["read"]

[keys."trading bot"]
api_key = "tradekey1"
api_secret = "{SECRET}"
permissions = ["read", "trade"]
"""


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def test_load_keys_reads_every_key_in_file_order(tmp_path: Path) -> None:
    keys = load_keys(write(tmp_path / "keys.toml", KEY_FILE))
    assert [key.label for key in keys] == ["default", "reader", "trading bot"]
    assert keys[0] == Credentials("topkey1", SECRET)
    assert keys[1] == Credentials("readkey1", OTHER, label="reader", permissions={"read"})
    assert keys[2].permissions == {"read", "trade"}


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o606])
def test_a_key_file_others_can_read_is_refused_unread(tmp_path: Path, mode: int) -> None:
    path = write(tmp_path / "keys.toml", KEY_FILE, mode)
    with pytest.raises(InvalidCredentialsError) as caught:
        load_keys(path)
    message = str(caught.value)
    assert f"has mode {mode:04o}" in message
    assert f"chmod 600 {path}" in message
    assert stat.S_IMODE(path.stat().st_mode) == mode  # nothing was changed behind the back


def test_a_private_file_of_one_key_and_from_file(tmp_path: Path) -> None:
    path = write(tmp_path / "one.toml", f'api_key = "k1"\napi_secret = "{SECRET}"\n', 0o400)
    assert Credentials.from_file(path) == Credentials("k1", SECRET)
    several = write(tmp_path / "keys.toml", KEY_FILE)
    with pytest.raises(InvalidCredentialsError, match=r"holds 3 keys .* say which with label="):
        Credentials.from_file(several)
    reader = Credentials.from_file(several, label="reader")
    assert reader.api_key == "readkey1"
    narrowed = Credentials.from_file(several, label="trading bot", permissions={"trade"})
    assert narrowed.permissions == {"trade"}
    with pytest.raises(MissingCredentialsError, match="has no key 'nope'"):
        Credentials.from_file(several, label="nope")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("api_key = 'k1'\n", "key 'default': api_secret missing"),
        ("[keys.a]\napi_secret = 'x'\n", "key 'a': api_key missing"),
        ("api_kye = 'k1'\napi_secret = 'x'\n", "unknown setting 'api_kye'"),
        ("[keys.a]\napi_key='k'\napi_secret='s'\nlabel='x'\n", "unknown setting 'label'"),
        ("[key.a]\napi_key='k'\n", "unknown table [key]"),
        ("keys = 'x'\n", "'keys' must be tables"),
        ("[keys]\na = 'x'\n", "keys.a must be a table"),
        ("[keys.a]\napi_key='k'\napi_secret='s'\npermissions=['trad']\n", "did you mean 'trade'"),
        ("api_key = \n", "is not valid TOML"),
        ("base_url = 'x'\n", "holds no key"),
        (f"[keys.a]\napi_key='k 1'\napi_secret='{SECRET}'\n", "key 'a': api_key holds whitespace"),
        (f'[keys.a]\napi_key="k1"\napi_secret="{SECRET}\\n"\n', "key 'a': api_secret holds"),
    ],
)
def test_a_malformed_key_file_says_where_never_what(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path / "keys.toml", text)
    with pytest.raises((InvalidCredentialsError, MissingCredentialsError)) as caught:
        load_keys(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)
    assert not leaks([rendered(caught.value)])
    assert caught.value.__context__ is None


def test_a_missing_or_unreadable_key_file(tmp_path: Path) -> None:
    with pytest.raises(MissingCredentialsError, match="no key file at"):
        load_keys(tmp_path / "absent.toml")
    with pytest.raises(InvalidCredentialsError, match="is not a regular file"):
        load_keys(tmp_path)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"api_key = '\xff'\n")
    binary.chmod(0o600)
    with pytest.raises(InvalidCredentialsError, match="is not UTF-8"):
        load_keys(binary)


def test_the_default_file_is_never_one_of_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "config.toml", KEY_FILE)
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    # A relative XDG_CONFIG_HOME is ignored (XDG spec): "." must not mean the cwd.
    env = {"XDG_CONFIG_HOME": "."}
    assert default_keys_path(env) == home / ".config" / "aiobitstamp" / "config.toml"
    assert default_keys_path({}) == home / ".config" / "aiobitstamp" / "config.toml"
    with pytest.raises(MissingCredentialsError, match="no key file at"):
        load_keys(environ=env)
    named = default_keys_path({"AIOBITSTAMP_CONFIG": str(tmp_path / "config.toml")})
    assert [key.label for key in load_keys(named)][:1] == ["default"]
    xdg = tmp_path / "xdg"
    (xdg / "aiobitstamp").mkdir(parents=True)
    write(xdg / "aiobitstamp" / "config.toml", KEY_FILE)
    assert len(load_keys(environ={"XDG_CONFIG_HOME": str(xdg)})) == 3


# -- the TOML subset for Python 3.10 -------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        KEY_FILE,
        "# only a comment\n",
        'api_key = \'a#b\' # comment\napi_secret = "q\\"uote\\\\ \\t"\n',
        "[keys.a]\npermissions = [ 'read' , \"trade\", ]\nflag = false\n[keys.b]\nx = true\n",
        '[ keys . "with space" ]\npermissions = []\n',
    ],
)
def test_the_small_reader_agrees_with_tomllib(text: str) -> None:
    tomllib = pytest.importorskip("tomllib")
    assert parse_simple_toml(text) == tomllib.loads(text)


@pytest.mark.parametrize(
    "text",
    [
        "api_key = 12\n",
        'api_key = "open\n',
        "api_key = 'x'\napi_key = 'y'\n",
        "just words\n",
        "permissions = ['a' 'b']\n",
        "a = {x = 1}\n",
    ],
)
def test_the_small_reader_refuses_what_it_does_not_know_naming_the_line(text: str) -> None:
    with pytest.raises(ValueError, match=r"line \d"):
        parse_simple_toml(text)


def test_the_small_reader_is_used_without_tomllib_and_tomli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aiobitstamp._key_sources as sources

    monkeypatch.setattr(sources.sys, "version_info", (3, 10, 0))
    monkeypatch.setitem(sys.modules, "tomli", None)
    keys = load_keys(write(tmp_path / "keys.toml", KEY_FILE))
    assert [key.label for key in keys] == ["default", "reader", "trading bot"]


# -- keyring ------------------------------------------------------------------------------


class FakeKeyring(types.ModuleType):
    def __init__(self) -> None:
        super().__init__("keyring")
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, user: str) -> str | None:
        return self.store.get((service, user))

    def set_password(self, service: str, user: str, password: str) -> None:
        self.store[(service, user)] = password


def test_keyring_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    keyring = FakeKeyring()
    monkeypatch.setitem(sys.modules, "keyring", keyring)
    Credentials("ringkey1", SECRET, label="bot").save_to_keyring()
    assert keyring.store[("aiobitstamp", "bot/api_key")] == "ringkey1"
    loaded = Credentials.from_keyring("bot", permissions={"trade"})
    assert loaded == Credentials("ringkey1", SECRET, label="bot", permissions={"trade"})
    with pytest.raises(MissingCredentialsError, match="no key labelled 'other'"):
        Credentials.from_keyring("other")
    keyring.store[("aiobitstamp", "bad/api_key")] = "k1"
    keyring.store[("aiobitstamp", "bad/api_secret")] = SECRET + "\n"
    with pytest.raises(InvalidCredentialsError, match="keyring service 'aiobitstamp', key 'bad'"):
        Credentials.from_keyring("bad")


def test_keyring_not_installed_or_broken_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)  # import fails
    with pytest.raises(MissingCredentialsError, match=r"pip install 'aiobitstamp\[keyring\]'"):
        Credentials.from_keyring()
    with pytest.raises(MissingCredentialsError, match="needs the keyring package"):
        Credentials("k1", SECRET).save_to_keyring()

    class Locked(FakeKeyring):
        def get_password(self, service: str, user: str) -> str | None:
            raise RuntimeError("the keyring is locked")

    monkeypatch.setitem(sys.modules, "keyring", Locked())
    with pytest.raises(MissingCredentialsError, match=r"could not be read \(RuntimeError\)"):
        Credentials.from_keyring()


# -- the scan itself catches a leak --------------------------------------------------------


def test_the_secret_scan_finds_a_planted_secret(no_secret_escapes: list[BitstampError]) -> None:
    def leaky(value: str) -> None:
        raise InvalidParameterError("bad value")

    try:
        leaky(SECRET)
    except InvalidParameterError as error:
        caught = error
    assert leaks([rendered(caught)]) == []  # the test's own frame is not the library's
    planted = InvalidParameterError(f"oops {SECRET}")
    assert leaks([rendered(planted)]) == [SECRET]
    planted.args = ("fine",)
    # Only the attributes still hold it: vars() is scanned too.
    assert leaks([rendered(planted)]) == [SECRET]
    stack = traceback.TracebackException.from_exception(caught, capture_locals=True)
    assert any(SECRET in repr(frame.locals) for frame in stack.stack)  # locals are seen
    # The fixture recorded the planted error: it would fail this test. Take it back.
    assert planted in no_secret_escapes
    no_secret_escapes.remove(planted)
