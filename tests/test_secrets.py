"""Secrets stay out of reprs, messages and the frame locals of tracebacks (issue 6, defect 9).

Tools such as rich, Sentry and ``traceback`` with ``capture_locals`` print every frame's
locals; a misconfigured ``Client(...)`` must not hand them the secret.
"""

from __future__ import annotations

import traceback

import pytest

from aiobitstamp import BitstampError, Client

SECRET = "S3cr3t-Value-0123456789abcdef"


def rendered(error: BaseException) -> str:
    """Everything a locals-printing tool would show for this error."""
    summary = traceback.TracebackException.from_exception(error, capture_locals=True)
    # The test's own frame holds the secret it passed; the library's frames must not.
    library = [frame for frame in summary.stack if "/aiobitstamp/" in frame.filename]
    text = str(error) + repr(error.args)
    for frame in library:
        text += repr(frame.locals)
    cause = error.__cause__ or error.__context__
    return text + (rendered(cause) if cause is not None else "")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"api_key": "key 1", "api_secret": SECRET},  # a key with a space
        {"api_key": "key1\n", "api_secret": SECRET},  # a pasted newline
        {"api_key": "key1", "api_secret": SECRET + "\n"},  # a newline in the secret
        {"api_key": None, "api_secret": SECRET},  # secret without key
        {"api_key": "key1", "api_secret": SECRET, "base_url": "ftp://nope"},
        {"api_key": "key1", "api_secret": SECRET, "ws_url": 5},
        {"api_key": "key1", "api_secret": SECRET, "my_markets_method": "PUT"},
        {"api_key": "key1", "api_secret": SECRET, "order_settle_seconds": -1},
    ],
)
def test_a_misconfigured_client_never_shows_the_secret(kwargs: dict[str, object]) -> None:
    with pytest.raises(BitstampError) as caught:
        Client(**kwargs)  # type: ignore[arg-type]
    text = rendered(caught.value)
    assert SECRET not in text
    assert SECRET.strip() not in text


def test_a_bytes_or_int_secret_is_refused_inside_the_tree() -> None:
    for secret in (SECRET.encode(), 123456789):
        with pytest.raises(BitstampError) as caught:
            Client("key1", secret)  # type: ignore[arg-type]
        assert SECRET not in rendered(caught.value)


async def test_repr_of_a_working_client_hides_the_secret() -> None:
    async with Client("key1", SECRET) as client:
        assert SECRET not in repr(client)
        assert SECRET not in repr(vars(client) if hasattr(client, "__dict__") else client)
