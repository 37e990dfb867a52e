"""Where keys come from: the environment, a private TOML file, the operating system's keyring.

The rules, each one a way keys leak or silently go wrong:

* **Nothing is read without being named.** ``load_keys()`` without a path reads the file
  named by ``AIOBITSTAMP_CONFIG``, else ``$XDG_CONFIG_HOME/aiobitstamp/config.toml`` (a
  relative ``XDG_CONFIG_HOME`` is ignored, as the XDG spec says), else
  ``~/.config/aiobitstamp/config.toml``; never a file of the current directory.
* **A key file others may read is refused, unread**, with its mode and the ``chmod 600``
  that fixes it (on POSIX systems).
* **Nothing is cleaned up.** A value with a stray newline, space or quote is refused
  (``InvalidCredentialsError`` naming where it came from), not stripped: a guess could sign
  with a secret that is not the user's.
* **No secret in a traceback.** The functions that hold a secret in a local variable never
  raise: they return the error, and a frame without secrets raises it, with no chained
  exception whose frames could show one.

The file (the command line's config file is the same file)::

    # ~/.config/aiobitstamp/config.toml   (chmod 600)
    api_key = "..."              # one key, labelled "default" (optional)
    api_secret = "..."

    [keys.reader]                # several keys, each with a label
    api_key = "..."
    api_secret = "..."
    permissions = ["read"]       # optional: scopes or fine names; omitted = all

    [keys.trader]
    api_key = "..."
    api_secret = "..."
    permissions = ["read", "trade"]

Other top-level settings (``base_url``, ``ws_url``) belong to the command line and are
skipped here. On Python 3.10 without ``tomli`` a small reader takes exactly this subset of
TOML (strings, arrays of strings, ``[keys.LABEL]`` tables, comments).
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ._auth import DEFAULT_LABEL, Credentials
from ._exceptions import BitstampError, InvalidCredentialsError, MissingCredentialsError

__all__ = [
    "CONFIG_VARIABLE",
    "credentials_from_env",
    "credentials_from_file",
    "credentials_from_keyring",
    "default_keys_path",
    "load_keys",
    "parse_simple_toml",
    "save_to_keyring",
]

CONFIG_VARIABLE = "AIOBITSTAMP_CONFIG"
_ENTRY_FIELDS = frozenset({"api_key", "api_secret", "permissions"})


class _Hidden:
    """Holds a secret (or a document holding secrets) so no frame's locals show it."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "<hidden>"


def _build(
    api_key: object,
    secret: _Hidden,
    *,
    label: object,
    permissions: object,
    where: str,
) -> Credentials | BitstampError:
    """Credentials, or the error saying what is wrong with them and where they came from.
    Never raises: see the module docstring."""
    try:
        return Credentials(
            api_key,  # type: ignore[arg-type]
            secret.value,
            label=label,  # type: ignore[arg-type]
            permissions=permissions,  # type: ignore[arg-type]
        )
    except BitstampError as error:
        message = f"{where}: {error.message}"
    return InvalidCredentialsError(message)


# -- environment --------------------------------------------------------------------------


def credentials_from_env(
    prefix: str = "BITSTAMP",
    *,
    label: str | None = None,
    permissions: Iterable[str] | str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Credentials:
    """See ``Credentials.from_env``."""
    # The environment holds the secret: from here on this frame shows "<hidden>".
    hidden = _Hidden(os.environ if environ is None else environ)
    del environ
    if not isinstance(prefix, str) or not prefix:
        raise InvalidCredentialsError("prefix must be a non-empty str such as 'BITSTAMP'")
    found = _from_env(prefix, label, permissions, hidden)
    if isinstance(found, BitstampError):
        raise found
    return found


def _from_env(
    prefix: str,
    label: str | None,
    permissions: Iterable[str] | str | None,
    hidden: _Hidden,
) -> Credentials | BitstampError:
    env: Mapping[str, str] = hidden.value
    key_name, secret_name = f"{prefix}_API_KEY", f"{prefix}_API_SECRET"
    missing = [name for name in (key_name, secret_name) if not env.get(name)]
    if missing:
        return MissingCredentialsError(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set "
            "(set both, or load the key another way)"
        )
    said: object = permissions
    if said is None and env.get(f"{prefix}_KEY_PERMISSIONS"):
        said = [part.strip() for part in env[f"{prefix}_KEY_PERMISSIONS"].split(",")]
    return _build(
        env[key_name],
        _Hidden(env[secret_name]),
        label=label or env.get(f"{prefix}_KEY_LABEL") or DEFAULT_LABEL,
        permissions=said,
        where=f"{key_name}/{secret_name}",
    )


# -- files --------------------------------------------------------------------------------


def default_keys_path(environ: Mapping[str, str] | None = None) -> Path:
    """The key file read when none is named (see the module docstring)."""
    env = os.environ if environ is None else environ
    named = env.get(CONFIG_VARIABLE)
    if named:
        return Path(named).expanduser()
    base = env.get("XDG_CONFIG_HOME", "")
    if not base or not os.path.isabs(base):
        base = str(Path.home() / ".config")
    return Path(base) / "aiobitstamp" / "config.toml"


def load_keys(
    path: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None
) -> list[Credentials]:
    """Every key of a key file, in file order: the top-level ``api_key``/``api_secret``
    (labelled ``"default"``) first, then each ``[keys.LABEL]`` table.

    >>> async with Client(keys=load_keys()) as client:  # doctest: +SKIP
    ...     await client.buy_limit("btcusd", amount, price)  # goes out with the trading key

    ``path=None`` reads the default file (never one of the current directory). Raises
    ``MissingCredentialsError`` when the file does not exist or holds no key, and
    ``InvalidCredentialsError`` when it is readable by others, is not valid TOML, or a key
    in it is malformed (the message names the file and the label, never the secret).
    """
    file = Path(path).expanduser() if path is not None else default_keys_path(environ)
    found = _load(file)
    if isinstance(found, BitstampError):
        raise found
    return found


def credentials_from_file(
    path: str | os.PathLike[str],
    *,
    label: str | None = None,
    permissions: Iterable[str] | str | None = None,
) -> Credentials:
    """See ``Credentials.from_file``."""
    keys = load_keys(path)
    if label is not None:
        chosen = [key for key in keys if key.label == label]
        if not chosen:
            labels = ", ".join(repr(key.label) for key in keys)
            raise MissingCredentialsError(f"key file {path} has no key {label!r} (it has {labels})")
    elif len(keys) > 1:
        labels = ", ".join(repr(key.label) for key in keys)
        raise InvalidCredentialsError(
            f"key file {path} holds {len(keys)} keys ({labels}): say which with label=, "
            "or load them all with load_keys()"
        )
    else:
        chosen = keys
    if permissions is None:
        return chosen[0]
    return chosen[0].replace(permissions=permissions)


def _load(file: Path) -> list[Credentials] | BitstampError:
    raw = _read_private(file)
    if isinstance(raw, BitstampError):
        return raw
    try:
        document = _Hidden(_parse_toml(raw.value.decode("utf-8")))
    except UnicodeDecodeError:
        return InvalidCredentialsError(f"key file {file} is not UTF-8 text")
    except ValueError as error:
        # TOML parsers name a line and a column; they quote no value.
        where = str(error).splitlines()[0][:200]
        return InvalidCredentialsError(f"key file {file} is not valid TOML: {where}")
    del raw
    return _entries(file, document)


def _entries(file: Path, document: _Hidden) -> list[Credentials] | BitstampError:
    values: dict[str, Any] = document.value
    entries: list[tuple[str, dict[str, Any]]] = []
    top = {name: value for name, value in values.items() if name in _ENTRY_FIELDS}
    unknown = [name for name in values if name.startswith("api_") and name not in _ENTRY_FIELDS]
    if unknown:
        return InvalidCredentialsError(
            f"key file {file}: unknown setting {unknown[0]!r} (a key has api_key, api_secret "
            "and optionally permissions)"
        )
    if top:
        entries.append((DEFAULT_LABEL, top))
    tables = values.get("keys", {})
    if not isinstance(tables, dict):
        return InvalidCredentialsError(f"key file {file}: 'keys' must be tables [keys.LABEL]")
    for label, entry in tables.items():
        if not isinstance(entry, dict):
            return InvalidCredentialsError(
                f"key file {file}: keys.{label} must be a table with api_key and api_secret"
            )
        entries.append((label, entry))
    for name, value in values.items():
        if isinstance(value, dict) and name != "keys":
            return InvalidCredentialsError(
                f"key file {file}: unknown table [{name}] (keys go in [keys.LABEL] tables)"
            )
    keys: list[Credentials] = []
    labels: set[str] = set()
    for label, entry in entries:
        where = f"key file {file}, key {label!r}"
        extra = sorted(set(entry) - _ENTRY_FIELDS)
        if extra:
            return InvalidCredentialsError(
                f"{where}: unknown setting {extra[0]!r} (known: api_key, api_secret, permissions)"
            )
        missing = [name for name in ("api_key", "api_secret") if name not in entry]
        if missing:
            return InvalidCredentialsError(f"{where}: {' and '.join(missing)} missing")
        if label in labels:
            return InvalidCredentialsError(f"{where}: a second key with this label")
        labels.add(label)
        built = _build(
            entry["api_key"],
            _Hidden(entry["api_secret"]),
            label=label,
            permissions=entry.get("permissions"),
            where=where,
        )
        if isinstance(built, BitstampError):
            return built
        keys.append(built)
    if not keys:
        return MissingCredentialsError(
            f"key file {file} holds no key (api_key and api_secret, or [keys.LABEL] tables)"
        )
    return keys


def _read_private(file: Path) -> _Hidden | BitstampError:
    """The file's bytes, if only its owner may read them."""
    try:
        descriptor = os.open(file, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return MissingCredentialsError(f"no key file at {file}")
    except OSError as error:
        return InvalidCredentialsError(f"cannot read key file {file}: {error.strerror}")
    try:
        # The mode of the file actually opened, not of whatever the name points to later.
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            return InvalidCredentialsError(f"key file {file} is not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        if os.name == "posix" and mode & 0o077:
            return InvalidCredentialsError(
                f"key file {file} has mode {mode:04o}: others on this machine may read or "
                f"change it, so it was not read; run: chmod 600 {file}"
            )
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            return _Hidden(handle.read())
    except OSError as error:
        return InvalidCredentialsError(f"cannot read key file {file}: {error.strerror}")
    finally:
        os.close(descriptor)


def _parse_toml(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib.loads(text)
    try:  # pragma: no cover - Python 3.10 only
        import tomli  # type: ignore[import-not-found, unused-ignore]
    except ImportError:  # pragma: no cover
        return parse_simple_toml(text)
    return tomli.loads(text)  # type: ignore[no-any-return, unused-ignore]  # pragma: no cover


_NAME = r"[A-Za-z0-9_-]+|\"[^\"\\]*\""
_HEADER = re.compile(rf"\[\s*({_NAME})(?:\s*\.\s*({_NAME}))?\s*\]")
_ASSIGNMENT = re.compile(r"([A-Za-z0-9_-]+)\s*=\s*(.*)")
_QUOTED = r"\"(?:[^\"\\]|\\[\"\\nt])*\"|'[^']*'"
_STRING = re.compile(r"\"((?:[^\"\\]|\\[\"\\nt])*)\"|'([^']*)'")
_ARRAY = re.compile(rf"\[\s*(?:(?:{_QUOTED})\s*,\s*)*(?:(?:{_QUOTED})\s*,?\s*)?\]")
_ESCAPES = {'\\"': '"', "\\\\": "\\", "\\n": "\n", "\\t": "\t"}


def parse_simple_toml(text: str) -> dict[str, Any]:
    """The subset of TOML that key files need, for Python 3.10 without ``tomli``: comments,
    ``[table]`` and ``[keys.LABEL]`` headers, ``name = "string"`` (basic or literal),
    ``name = ["a", "b"]`` on one line, ``true``/``false``. Anything else raises
    ``ValueError`` naming the line (never its value)."""
    document: dict[str, Any] = {}
    table = document
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = _without_comment(line).strip()
        if not stripped:
            continue
        header = _HEADER.fullmatch(stripped)
        if header is not None:
            table = document
            for part in header.groups():
                if part is None:
                    continue
                name = part.strip('"')
                table = table.setdefault(name, {})
                if not isinstance(table, dict):
                    raise ValueError(f"line {number}: [{name}] redefines a value")
            continue
        assignment = _ASSIGNMENT.fullmatch(stripped)
        if assignment is None:
            raise ValueError(f"line {number}: expected name = value or a [table] (column 1)")
        name, raw = assignment.groups()
        if name in table:
            raise ValueError(f"line {number}: {name} is given twice")
        table[name] = _simple_value(raw.strip(), number)
    return document


def _without_comment(line: str) -> str:
    quote: str | None = None
    escaped = False
    for index, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\" and quote == '"':
            escaped = True
        elif quote is not None:
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#":
            return line[:index]
    return line


def _simple_value(raw: str, number: int) -> Any:
    if raw in ("true", "false"):
        return raw == "true"
    single = _STRING.fullmatch(raw)
    if single is not None:
        return _unquote(single)
    if _ARRAY.fullmatch(raw):
        # Only whitespace and commas lie between the strings, so a left-to-right scan
        # finds exactly them.
        return [_unquote(found) for found in _STRING.finditer(raw)]
    raise ValueError(
        f"line {number}: only strings, arrays of strings, true and false are read here "
        "(install tomli, or use Python 3.11+, for all of TOML)"
    )


def _unquote(found: re.Match[str]) -> str:
    basic, literal = found.groups()
    if literal is not None:
        return literal
    return re.sub(r"\\[\"\\nt]", lambda m: _ESCAPES[m.group(0)], basic)


# -- keyring ------------------------------------------------------------------------------


def _keyring() -> Any:
    try:
        import keyring  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    return keyring


def credentials_from_keyring(
    label: str = DEFAULT_LABEL,
    *,
    service: str = "aiobitstamp",
    permissions: Iterable[str] | str | None = None,
) -> Credentials:
    """See ``Credentials.from_keyring``."""
    found = _from_keyring(label, service, permissions)
    if isinstance(found, BitstampError):
        raise found
    return found


def _from_keyring(
    label: str, service: str, permissions: Iterable[str] | str | None
) -> Credentials | BitstampError:
    keyring = _keyring()
    if keyring is None:
        return MissingCredentialsError(
            "reading keys from the keyring needs the keyring package: "
            "pip install 'aiobitstamp[keyring]'"
        )
    try:
        api_key = keyring.get_password(service, f"{label}/api_key")
        secret = _Hidden(keyring.get_password(service, f"{label}/api_secret"))
    except Exception as error:  # the backend's own errors: locked, no backend, D-Bus, ...
        reason = type(error).__name__
    else:
        if api_key is None or secret.value is None:
            return MissingCredentialsError(
                f"the keyring has no key labelled {label!r} in service {service!r} "
                "(store it with Credentials(...).save_to_keyring())"
            )
        return _build(
            api_key,
            secret,
            label=label,
            permissions=permissions,
            where=f"keyring service {service!r}, key {label!r}",
        )
    return MissingCredentialsError(f"the keyring could not be read ({reason})")


def save_to_keyring(credentials: Credentials, *, service: str = "aiobitstamp") -> None:
    """See ``Credentials.save_to_keyring``."""
    keyring = _keyring()
    if keyring is None:
        raise MissingCredentialsError(
            "storing keys in the keyring needs the keyring package: "
            "pip install 'aiobitstamp[keyring]'"
        )
    keyring.set_password(service, f"{credentials.label}/api_key", credentials.api_key)
    keyring.set_password(service, f"{credentials.label}/api_secret", credentials.api_secret)
