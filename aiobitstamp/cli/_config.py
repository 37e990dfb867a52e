"""Where the command line talks to, and with which keys.

Keys come from the environment (``BITSTAMP_API_KEY`` and ``BITSTAMP_API_SECRET``) or from a
TOML config file; never from an option, since options show in ``ps`` and shell history::

    # ~/.config/aiobitstamp/config.toml    (chmod 600)
    api_key = "..."
    api_secret = "..."
    base_url = "https://www.bitstamp.net"   # optional
    ws_url = "wss://ws.bitstamp.net"        # optional

The file is the one named by ``--config`` or ``AIOBITSTAMP_CONFIG``, else
``$XDG_CONFIG_HOME/aiobitstamp/config.toml`` (``~/.config/...``) when it exists; nothing is
ever read from the current directory unless named. A file holding keys is refused when its
group or others may read or write it. The environment wins over the file, key by key pair.
Options (``--base-url``, ``--ws-url``) win over both for the addresses.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import CommandError, ExitCode

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_WS_URL", "Settings", "default_config_path", "load"]

DEFAULT_BASE_URL = "https://www.bitstamp.net"
DEFAULT_WS_URL = "wss://ws.bitstamp.net"
KEY_VARIABLE = "BITSTAMP_API_KEY"
SECRET_VARIABLE = "BITSTAMP_API_SECRET"
CONFIG_VARIABLE = "AIOBITSTAMP_CONFIG"
# ``[keys.LABEL]`` tables belong to the library's key loader (``_key_sources``), which
# reads the same file; the command line uses the top-level key.
_KNOWN = frozenset({"api_key", "api_secret", "base_url", "ws_url", "keys"})


@dataclass(frozen=True)
class Settings:
    """The target and keys of one run. ``repr`` never shows the secret."""

    base_url: str = DEFAULT_BASE_URL
    ws_url: str = DEFAULT_WS_URL
    api_key: str | None = None
    api_secret: str | None = field(default=None, repr=False)
    keys_from: str | None = None  # "the environment", "config file PATH", "the emulator"

    @property
    def has_keys(self) -> bool:
        """Both halves of a key pair are known."""
        return self.api_key is not None and self.api_secret is not None


def default_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/aiobitstamp/config.toml``, or under ``~/.config``."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "aiobitstamp" / "config.toml"


def _read_config(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CommandError(f"config file {path} does not exist", ExitCode.NOT_FOUND) from None
    except OSError as error:
        raise CommandError(f"cannot read config file {path}: {error.strerror}") from None
    try:
        values: dict[str, Any] = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        # The parser's message names a line and column, never the values.
        raise CommandError(f"config file {path} is not valid TOML: {error}") from None
    unknown = sorted(set(values) - _KNOWN)
    if unknown:
        raise CommandError(
            f"config file {path}: unknown setting {unknown[0]!r} "
            f"(known: {', '.join(sorted(_KNOWN - {'keys'}))}, [keys.LABEL])"
        )
    for name, value in values.items():
        if name != "keys" and not isinstance(value, str):
            raise CommandError(f"config file {path}: {name} must be a string")
    if values.keys() & {"api_key", "api_secret", "keys"} and os.name == "posix":
        _refuse_if_shared(path)
    return values


def _refuse_if_shared(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise CommandError(
            f"config file {path} holds API keys but its mode is {mode:04o}: others on this "
            f"machine may read it; run: chmod 600 {path}",
            ExitCode.AUTH,
        )


def load(
    *,
    config: str | None = None,
    base_url: str | None = None,
    ws_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """The settings of one run: options, then the environment, then the config file."""
    env = os.environ if environ is None else environ
    named = config or env.get(CONFIG_VARIABLE)
    values: dict[str, Any] = {}
    source: str | None = None
    if named:
        path = Path(named).expanduser()
        values = _read_config(path)
        source = f"config file {path}"
    else:
        path = default_config_path(env)
        if path.is_file():
            values = _read_config(path)
            source = f"config file {path}"
    key, secret = env.get(KEY_VARIABLE), env.get(SECRET_VARIABLE)
    keys_from: str | None
    if key or secret:
        if not (key and secret):
            missing = SECRET_VARIABLE if key else KEY_VARIABLE
            raise CommandError(f"{missing} is not set (set both or neither)", ExitCode.AUTH)
        keys_from = "the environment"
    else:
        key, secret = values.get("api_key"), values.get("api_secret")
        if (key is None) != (secret is None):
            raise CommandError(
                f"{source}: give both api_key and api_secret, or neither", ExitCode.AUTH
            )
        keys_from = source if key is not None else None
    return Settings(
        base_url=base_url or values.get("base_url") or DEFAULT_BASE_URL,
        ws_url=ws_url or values.get("ws_url") or DEFAULT_WS_URL,
        api_key=key,
        api_secret=secret,
        keys_from=keys_from,
    )
