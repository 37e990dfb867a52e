"""Known-answer tests for auth v2 signing, from the shared vectors and worked by hand."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import hmac
import json
import pickle
import traceback
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest

from aiobitstamp._auth import (
    Credentials,
    QuerySigning,
    clock_offset_from_date,
    response_signature,
    sign_request,
    string_to_sign,
    verify_response_signature,
)
from aiobitstamp._exceptions import BitstampError, InvalidCredentialsError, InvalidParameterError

VECTORS = json.loads((Path(__file__).parent / "data" / "auth-v2.json").read_text())
CREDENTIALS = Credentials(VECTORS["key"], VECTORS["secret"])


@pytest.mark.parametrize("vector", VECTORS["requests"], ids=lambda v: v["name"][:40])
def test_request_vectors(vector: dict[str, str]) -> None:
    body = vector["body"].encode()
    headers = sign_request(
        CREDENTIALS,
        vector["method"],
        vector["host"],
        vector["path"],
        vector["query"],
        body,
        nonce=vector["nonce"],
        timestamp_ms=int(vector["timestamp"]),
    )
    assert headers["X-Auth-Signature"] == vector["signature"]
    assert headers["X-Auth"] == "BITSTAMP " + VECTORS["key"]
    assert headers["X-Auth-Nonce"] == vector["nonce"]
    assert headers["X-Auth-Timestamp"] == vector["timestamp"]
    assert headers["X-Auth-Version"] == "v2"
    if body:
        assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    else:
        # An empty body must carry no Content-Type at all, or the exchange says API0020.
        assert "Content-Type" not in headers


@pytest.mark.parametrize("vector", VECTORS["requests"], ids=lambda v: v["name"][:40])
def test_string_to_sign_matches_vector(vector: dict[str, str]) -> None:
    message = string_to_sign(
        VECTORS["key"],
        vector["method"],
        vector["host"],
        vector["path"],
        vector["query"],
        vector["content_type"],
        vector["nonce"],
        vector["timestamp"],
        vector["body"].encode(),
    )
    assert message == vector["string_to_sign"].encode()


def test_hand_worked_vector() -> None:
    # Worked by hand from the published formula, independently of the shared file.
    credentials = Credentials("k3y", "s3cret")
    expected_message = (
        b"BITSTAMP k3yPOSTwww.bitstamp.net/api/v2/sell/ethusd/"
        b"application/x-www-form-urlencoded"
        b"00000000-0000-4000-8000-0000000000001700000000000v2amount=1.5&price=2000"
    )
    expected = hmac.new(b"s3cret", expected_message, hashlib.sha256).hexdigest()
    headers = sign_request(
        credentials,
        "POST",
        "www.bitstamp.net",
        "/api/v2/sell/ethusd/",
        "",
        b"amount=1.5&price=2000",
        nonce="00000000-0000-4000-8000-000000000000",
        timestamp_ms=1700000000000,
    )
    assert headers["X-Auth-Signature"] == expected
    assert headers["X-Auth-Signature"] == headers["X-Auth-Signature"].lower()


def test_query_signing_is_configurable() -> None:
    vector = next(v for v in VECTORS["requests"] if v["query"])
    args = (CREDENTIALS, "GET", vector["host"], vector["path"], vector["query"], b"")
    kwargs = {"nonce": vector["nonce"], "timestamp_ms": int(vector["timestamp"])}
    without = sign_request(*args, **kwargs)
    with_mark = sign_request(*args, **kwargs, query_signing=QuerySigning.WITH_QUESTION_MARK)
    assert without["X-Auth-Signature"] == vector["signature"]
    message = vector["string_to_sign"].replace(vector["query"], "?" + vector["query"])
    assert with_mark["X-Auth-Signature"] == CREDENTIALS.hexdigest(message.encode())


@pytest.mark.parametrize("vector", VECTORS["responses"], ids=lambda v: v["name"][:40])
def test_response_vectors(vector: dict[str, str]) -> None:
    args = (vector["nonce"], vector["timestamp"], vector["content_type"], vector["body"].encode())
    assert response_signature(CREDENTIALS, *args) == vector["signature"]
    assert verify_response_signature(CREDENTIALS, vector["signature"], *args)
    assert verify_response_signature(CREDENTIALS, vector["signature"].upper(), *args)
    tampered = (*args[:3], args[3].replace(b"90.00", b"99.00"))
    assert not verify_response_signature(CREDENTIALS, vector["signature"], *tampered)


def test_secret_never_in_repr() -> None:
    credentials = Credentials("public-key", "TOP-SECRET-VALUE")
    assert "TOP-SECRET-VALUE" not in repr(credentials)
    assert "TOP-SECRET-VALUE" not in str(credentials)
    assert "public-key" in repr(credentials)


def test_empty_credentials_refused() -> None:
    with pytest.raises(ValueError, match="api_key is empty"):
        Credentials("", "x")
    with pytest.raises(ValueError, match="api_secret is empty"):
        Credentials("x", "")


def test_clock_offset_from_date_header() -> None:
    server = datetime(2026, 1, 1, 12, 0, 30, tzinfo=timezone.utc)
    header = format_datetime(server, usegmt=True)
    local = server.timestamp() - 200  # local clock 200 s behind
    offset = clock_offset_from_date(header, local - 0.1, local + 0.1)
    assert offset is not None
    assert 199.5 <= offset <= 201.0
    assert clock_offset_from_date("not a date", 0, 0) is None
    assert clock_offset_from_date("", 0, 0) is None


# --- Credentials refuse what cannot be used, and never show the secret (defects 6, 9) -------

MARKER = "Sup3rS3cretValue"
BAD_SECRETS: list[object] = [
    MARKER + "\n",
    "\n" + MARKER,
    MARKER + " ",
    " " + MARKER,
    MARKER + "\t",
    MARKER + "\x00",
    MARKER + "\x7f",
    MARKER + "\u00e9",
    MARKER + "\u200b",  # zero-width space: invisible when pasted
    MARKER * 100,
    MARKER.encode(),
    "",
    12345,
    None,
]


def _build(index: int) -> Credentials:
    # The secret comes from a global, so no frame of this test holds it as a local.
    return Credentials("key123", BAD_SECRETS[index])  # type: ignore[arg-type]


def _texts_of(error: BaseException) -> list[str]:
    texts = []
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        texts += [str(link), repr(link), repr(vars(link)) if hasattr(link, "__dict__") else ""]
        link = link.__cause__ or link.__context__
    stack = traceback.TracebackException(
        type(error), error, error.__traceback__, capture_locals=True
    )
    texts.append("".join(stack.format()))
    return texts


@pytest.mark.parametrize("index", range(len(BAD_SECRETS)))
def test_bad_secret_is_refused_without_a_trace_of_it(index: int) -> None:
    with pytest.raises(InvalidCredentialsError) as info:
        _build(index)
    error = info.value
    assert isinstance(error, InvalidParameterError)
    assert isinstance(error, ValueError) and isinstance(error, BitstampError)
    assert "api_secret" in str(error)
    for text in _texts_of(error):
        assert MARKER not in text
        assert MARKER.lower() not in text.lower()
    # The frames the traceback shows exist, and none of their locals is the secret.
    frames = traceback.walk_tb(error.__traceback__)
    names = [frame.f_code.co_name for frame, _ in frames]
    assert "__init__" in names
    for frame, _ in traceback.walk_tb(error.__traceback__):
        for value in frame.f_locals.values():
            assert value is not BAD_SECRETS[index] or not isinstance(value, str | bytes)


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "api_key is empty"),
        ("key\n", "api_key holds whitespace"),
        ("key with space", "api_key holds whitespace"),
        ("k\u00e9y", "api_key holds a character beyond ASCII"),
        (b"key", "api_key must be a str, got bytes"),
        (7, "api_key must be a str, got int"),
        (None, "api_key must be a str, got NoneType"),
    ],
)
def test_bad_key_is_refused_saying_why(key: object, reason: str) -> None:
    with pytest.raises(InvalidCredentialsError, match=reason):
        Credentials(key, "secret")  # type: ignore[arg-type]


def test_a_str_subclass_cannot_vouch_for_itself() -> None:
    class Lying(str):
        def isascii(self) -> bool:
            return True

        def isprintable(self) -> bool:
            return True

        def __str__(self) -> str:
            return "something-else"

    with pytest.raises(InvalidCredentialsError, match="whitespace"):
        Credentials("key", Lying("secret\n"))
    credentials = Credentials(Lying("key"), Lying("s3cret"))
    assert type(credentials.api_key) is str and credentials.api_key == "key"
    expected = hmac.new(b"s3cret", b"message", hashlib.sha256).hexdigest()
    assert credentials.hexdigest(b"message") == expected


def test_credentials_are_immutable_and_compare_by_value() -> None:
    credentials = Credentials("key", "secret")
    with pytest.raises(dataclasses.FrozenInstanceError):
        credentials.api_key = "other"
    with pytest.raises(dataclasses.FrozenInstanceError):
        del credentials.api_key
    assert credentials == Credentials("key", "secret")
    assert credentials != Credentials("key", "secret2")
    assert hash(credentials) == hash(Credentials("key", "secret"))
    assert copy.deepcopy(credentials) is credentials
    assert pickle.loads(pickle.dumps(credentials)) == credentials
    assert credentials.api_secret == "secret"


def test_repr_of_a_half_built_credentials_never_raises() -> None:
    half_built = Credentials.__new__(Credentials)
    assert repr(half_built) == "Credentials(api_key=<unset>, api_secret=<hidden>)"
    assert str(half_built) == repr(half_built)


# --- The response signature check never raises (defect 6) -----------------------------------


@pytest.mark.parametrize(
    "header",
    ["\u00e9" * 64, "\uff41" * 64, "", "zz", "0" * 10_000, None, b"00", 5],
)
def test_any_signature_header_is_a_mismatch_not_an_error(header: object) -> None:
    args = ("nonce", "1700000000000", "application/json", b"{}")
    assert verify_response_signature(CREDENTIALS, header, *args) is False  # type: ignore[arg-type]
    good = response_signature(CREDENTIALS, *args)
    assert verify_response_signature(CREDENTIALS, good, *args) is True


@pytest.mark.parametrize(
    "header",
    [
        "Sun, 06 Nov 1994 08:49:37 +9999",
        "Mon, 32 Foo 99999 99:99:99 GMT",
        "\u00e9",
        "x" * 10_000,
        "Thu, 01 Jan 10000 00:00:00 GMT",
        None,
        b"Sun, 06 Nov 1994 08:49:37 GMT",
    ],
)
def test_clock_offset_from_any_date_header_is_a_number_or_none(header: object) -> None:
    offset = clock_offset_from_date(header, 0.0, 0.0)  # type: ignore[arg-type]
    assert offset is None or isinstance(offset, float)


def test_a_content_type_with_undecodable_bytes_is_checked_not_raised() -> None:
    # aiohttp decodes header bytes as UTF-8 with surrogate escapes; the server signed the bytes.
    raw = b"application/json; charset=\xff"
    header = raw.decode("utf-8", "surrogateescape")
    message = b"nonce1700000000000" + raw + b"{}"
    signature = hmac.new(VECTORS["secret"].encode(), message, hashlib.sha256).hexdigest()
    args = ("nonce", "1700000000000")
    assert verify_response_signature(CREDENTIALS, signature, *args, header, b"{}") is True
    # A lone surrogate that no byte decodes to: a mismatch, not a UnicodeEncodeError.
    assert verify_response_signature(CREDENTIALS, signature, *args, "\ud800", b"{}") is False


def test_nonces_are_fresh_uuid4_texts() -> None:
    import uuid

    from aiobitstamp._auth import new_nonce

    nonces = [new_nonce() for _ in range(2000)]
    assert len(set(nonces)) == len(nonces)
    for nonce in nonces:
        parsed = uuid.UUID(nonce)
        assert str(parsed) == nonce and len(nonce) == 36  # lowercase, hyphenated
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
