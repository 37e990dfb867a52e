"""The public surface: complete, sorted, documented, and free of private leaks."""

from __future__ import annotations

import inspect

import aiobitstamp
import aiobitstamp.testing


def isort_key(name: str) -> tuple[int, str]:
    # The order ruff's RUF022 keeps: CONSTANTS, then Classes, then functions/dunders.
    if name.isupper():
        return (0, name)
    if name[0].isupper():
        return (1, name)
    return (2, name)


def test_all_is_sorted_and_complete() -> None:
    names = aiobitstamp.__all__
    assert names == sorted(names, key=isort_key)
    for name in names:
        assert hasattr(aiobitstamp, name), name
    public = {
        name
        for name, value in vars(aiobitstamp).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name not in ("annotations",)
    }
    assert public - {"TYPE_CHECKING", "Any", "PackageNotFoundError", "version"} <= set(names)


def test_names_the_issues_fix_exist() -> None:
    assert callable(aiobitstamp.Client)
    for method in ("ticker", "order_book", "account_balances"):
        assert inspect.iscoroutinefunction(getattr(aiobitstamp.Client, method))
    assert issubclass(aiobitstamp.AuthenticationError, aiobitstamp.BitstampError)
    assert issubclass(aiobitstamp.RateLimitError, aiobitstamp.BitstampError)
    assert aiobitstamp.testing.FakeBitstamp.__test__ is False  # type: ignore[attr-defined]


def test_every_public_name_is_documented() -> None:
    for name in aiobitstamp.__all__:
        value = getattr(aiobitstamp, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), name
    for name, member in inspect.getmembers(aiobitstamp.Client, inspect.iscoroutinefunction):
        if not name.startswith("_"):
            assert inspect.getdoc(member), f"Client.{name}"


def test_version_is_a_string() -> None:
    assert isinstance(aiobitstamp.__version__, str) and aiobitstamp.__version__


def test_every_model_and_error_is_public() -> None:
    import aiobitstamp._exceptions as errors
    import aiobitstamp._models as models

    for name in models.__all__:
        assert name in aiobitstamp.__all__, f"{name} is a model but not exported"
    for name in errors.__all__:
        if name[0].isupper():
            assert name in aiobitstamp.__all__, f"{name} is an error but not exported"
