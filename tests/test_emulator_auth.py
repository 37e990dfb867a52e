"""The emulator's own signature check agrees with the published vectors, independently of
the client's signer (issue 6: a signing bug must not hide by being mirrored)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aiobitstamp.testing._auth_check import expected_signature, server_signature

VECTORS: dict[str, Any] = json.loads((Path(__file__).parent / "data" / "auth-v2.json").read_text())


@pytest.mark.parametrize("vector", VECTORS["requests"], ids=lambda v: str(v["name"])[:40])
def test_the_emulator_expects_the_published_signature(vector: dict[str, str]) -> None:
    assert (
        expected_signature(
            VECTORS["secret"],
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
        == vector["signature"]
    )


@pytest.mark.parametrize("vector", VECTORS["responses"], ids=lambda v: str(v["name"])[:40])
def test_the_emulator_signs_answers_as_published(vector: dict[str, str]) -> None:
    assert (
        server_signature(
            VECTORS["secret"],
            vector["nonce"],
            vector["timestamp"],
            vector["content_type"],
            vector["body"].encode(),
        )
        == vector["signature"]
    )


def test_a_changed_byte_changes_the_expected_signature() -> None:
    vector = VECTORS["requests"][0]
    names = ("method", "host", "path", "query", "content_type", "nonce", "timestamp")
    args = [VECTORS["secret"], VECTORS["key"], *(vector[name] for name in names)]
    assert expected_signature(*args, b"offset=2") != vector["signature"]
