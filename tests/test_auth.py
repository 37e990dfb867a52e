"""Known-answer tests for auth v2 signing, from the shared vectors and worked by hand."""

from __future__ import annotations

import hashlib
import hmac
import json
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
    without = sign_request(*args, **kwargs)  # type: ignore[arg-type]
    with_mark = sign_request(*args, **kwargs, query_signing=QuerySigning.WITH_QUESTION_MARK)  # type: ignore[arg-type]
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
    with pytest.raises(ValueError):
        Credentials("", "x")


def test_clock_offset_from_date_header() -> None:
    server = datetime(2026, 1, 1, 12, 0, 30, tzinfo=timezone.utc)
    header = format_datetime(server, usegmt=True)
    local = server.timestamp() - 200  # local clock 200 s behind
    offset = clock_offset_from_date(header, local - 0.1, local + 0.1)
    assert offset is not None
    assert 199.5 <= offset <= 201.0
    assert clock_offset_from_date("not a date", 0, 0) is None
    assert clock_offset_from_date("", 0, 0) is None
