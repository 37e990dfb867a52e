"""aiobitstamp._json: the fast decoder, and the exact one for answers with JSON numbers."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from aiobitstamp._json import JSONDecodeError, loads, loads_exact


def test_loads_is_orjson() -> None:
    body = b'{"last": "37991.00", "bids": [["1", "2"]], "id": 7}'
    assert loads(body) == orjson.loads(body)


def test_exact_keeps_every_digit_where_a_float_loses_them() -> None:
    body = b'{"amount": 123456789.12345678, "price": 0.1, "fee": 1E-8, "neg": -0.0}'
    assert orjson.loads(body)["amount"] != Decimal("123456789.12345678")  # the defect
    decoded = loads_exact(body)
    assert decoded == {
        "amount": Decimal("123456789.12345678"),
        "price": Decimal("0.1"),
        "fee": Decimal("1E-8"),
        "neg": Decimal("-0.0"),
    }
    assert all(type(value) is Decimal for value in decoded.values())
    # Spelling is kept too, not just the value.
    assert str(loads_exact(b"[12.50]")[0]) == "12.50"


def test_exact_keeps_integers_exact_at_any_size() -> None:
    big = 2**64 + 1
    assert type(orjson.loads(str(big).encode())) is float  # orjson's silent overflow
    decoded = loads_exact(f'{{"id": {big}, "small": 0, "usd": -5}}'.encode())
    assert decoded == {"id": big, "small": 0, "usd": -5}
    assert all(type(value) is int for value in decoded.values())


def test_exact_leaves_strings_and_shapes_as_orjson_does() -> None:
    body = b'{"a": ["1.0", true, false, null, {"b": []}], "c": "\\u00e9"}'
    assert loads_exact(body) == orjson.loads(body)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"NaN",
        b"[Infinity]",
        b'{"a": -Infinity}',
        b"1 2",
        b"\xff",
        b'"\\ud800"',
        b'{"\\udc00": 1}',
        b"[" * 100_000,
        b"1" * 5000,  # beyond Python's int conversion limit
        b"<html>502</html>",
        b"\xef\xbb\xbf{}",
    ],
)
def test_both_refuse_what_is_not_json_with_one_error(body: bytes) -> None:
    with pytest.raises(JSONDecodeError):
        loads_exact(body)
    if body != b"1" * 5000:  # orjson reads it as a (refused downstream) float
        with pytest.raises(JSONDecodeError):
            loads(body)
    assert issubclass(JSONDecodeError, ValueError)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # Flat objects of strings, ints, booleans and nulls are taken from orjson as they are.
        (b'{"id": "1", "price": "50.10", "n": 7, "ok": true, "x": null}',
         {"id": "1", "price": "50.10", "n": 7, "ok": True, "x": None}),
        (b'{"id": 18446744073709551615}', {"id": 18446744073709551615}),
        # Anything orjson would read inexactly goes to the exact decoder.
        (b'{"id": 18446744073709551616, "a": "1"}', {"id": 18446744073709551616, "a": "1"}),
        (b'{"id": -9223372036854775809}', {"id": -9223372036854775809}),
        (b'{"a": "1", "amount": 0.1}', {"a": "1", "amount": Decimal("0.1")}),
        (b'{"rows": [{"amount": 0.3}]}', {"rows": [{"amount": Decimal("0.3")}]}),
        (b'{"a": {"b": 1e2}}', {"a": {"b": Decimal("1E+2")}}),
    ],
)  # fmt: skip
def test_exact_fast_path_for_flat_objects_never_passes_a_float(
    body: bytes, expected: object
) -> None:
    decoded = loads_exact(body)
    assert decoded == expected
    assert repr(decoded) == repr(expected)  # Decimal('0.1'), not 0.1; exact ints
