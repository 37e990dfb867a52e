"""What an API key may do: the exchange's fine permission names and the coarse scopes over them.

Bitstamp lets each key be limited endpoint group by endpoint group: every signed route of
``_routes`` names the permission it needs there (``Route.permission``: ``account_balances``,
``buy_limit_order``, ``withdrawal``, ...). Users think in coarser terms (a read-only key for
a dashboard, a trading key for a bot, a withdrawal key kept offline), so the scopes below
group the fine names, in one table; both are accepted wherever permissions are given::

    Credentials(key, secret, label="bot", permissions={"trade", "read"})
    Credentials(key, secret, label="viewer", permissions={Permission.READ})
    Credentials(key, secret, label="orders", permissions={"buy_limit_order", "cancel_order"})

``permissions=None`` means "not said": the key is assumed to have every permission.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterable, Mapping

from ._exceptions import InvalidParameterError
from ._routes import ROUTES

__all__ = [
    "FINE_PERMISSIONS",
    "SCOPES",
    "Permission",
    "grants",
    "normalize_permissions",
    "scope_of",
]


class Permission(str, enum.Enum):
    """A coarse scope of what a key may do; each covers a group of Bitstamp's fine
    permissions (see ``SCOPES``). The members are strings: ``"read" == Permission.READ``.

    >>> sorted(SCOPES[Permission.EARN])
    ['earn']
    """

    #: Balances, fees, markets, transactions, open orders, order status, withdrawal
    #: history, and the token for private streams.
    READ = "read"
    #: Placing, replacing and cancelling orders.
    TRADE = "trade"
    #: Moving money out or in: withdrawals, transfers, deposit and instant-convert
    #: addresses, travel-rule contacts.
    WITHDRAW = "withdraw"
    #: Staking and lending subscriptions.
    EARN = "earn"
    #: ``revoke_all_api_keys``: the kill switch.
    KILL_SWITCH = "kill_switch"

    def __str__(self) -> str:
        return self.value


# The one table: every fine permission of the route table belongs to exactly one scope
# (checked below at import, and by a test).
SCOPES: Mapping[Permission, frozenset[str]] = {
    Permission.READ: frozenset(
        {
            "account_balances",
            "trading_fees",
            "withdrawal_fees",
            "my_markets",
            "websockets_token",
            "user_transactions",
            "crypto_transactions",
            "open_orders",
            "order_status",
            "withdrawal_requests",
        }
    ),
    Permission.TRADE: frozenset(
        {
            "buy_limit_order",
            "sell_limit_order",
            "buy_market_order",
            "sell_market_order",
            "buy_instant_order",
            "sell_instant_order",
            "replace_order",
            "cancel_order",
            "cancel_all_orders",
        }
    ),
    Permission.WITHDRAW: frozenset(
        {"withdrawal", "transfer", "deposit_address", "instant_convert_address", "travel_rule"}
    ),
    Permission.EARN: frozenset({"earn"}),
    Permission.KILL_SWITCH: frozenset({"revoke_api_keys"}),
}

#: Every fine permission name a signed route needs.
FINE_PERMISSIONS: frozenset[str] = frozenset(
    route.permission for route in ROUTES.values() if route.signed
)

_SCOPE_OF: dict[str, Permission] = {
    fine: scope for scope, names in SCOPES.items() for fine in names
}
if set(_SCOPE_OF) != FINE_PERMISSIONS or sum(map(len, SCOPES.values())) != len(_SCOPE_OF):
    raise AssertionError("SCOPES must place every route permission in exactly one scope")

_KNOWN = sorted({scope.value for scope in Permission} | FINE_PERMISSIONS)


def scope_of(permission: str) -> Permission:
    """The scope a fine permission belongs to: ``scope_of("cancel_order") is TRADE``."""
    return _SCOPE_OF[permission]


def normalize_permissions(value: object, *, what: str = "permissions") -> frozenset[str] | None:
    """Check what a user says a key may do: ``None``, one name, or an iterable of names
    (scopes, ``Permission`` members, or fine names). Returns plain strings.

    Raises ``InvalidParameterError`` naming an unknown name and the closest known one.
    """
    if value is None:
        return None
    items: Iterable[object]
    if isinstance(value, str):
        items = (value,)
    elif isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
        items = value
    else:
        raise InvalidParameterError(
            f"{what} must be None, a name or a set of names, got {type(value).__name__}"
        )
    names: set[str] = set()
    for item in items:
        if not isinstance(item, str):
            raise InvalidParameterError(
                f"{what} holds a {type(item).__name__}; give names such as 'read' or 'trade'"
            )
        name = str.__str__(item) if not isinstance(item, Permission) else item.value
        if name not in _SCOPE_OF and name not in Permission._value2member_map_:
            close = difflib.get_close_matches(name, _KNOWN, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            scopes = ", ".join(repr(scope.value) for scope in Permission)
            raise InvalidParameterError(
                f"{what}: unknown permission {name!r}{hint}; the scopes are {scopes}, "
                "or a route's own permission name (aiobitstamp._permissions.FINE_PERMISSIONS)"
            )
        names.add(name)
    if not names:
        raise InvalidParameterError(
            f"{what} is empty: a key with no permission can do nothing; "
            "say None if you do not know them"
        )
    return frozenset(names)


def grants(permissions: frozenset[str] | None) -> frozenset[str] | None:
    """The fine permissions ``permissions`` (already normalised) amount to; ``None`` for
    "every one"."""
    if permissions is None:
        return None
    fine: set[str] = set()
    for name in permissions:
        scope = Permission._value2member_map_.get(name)
        if scope is not None:
            fine |= SCOPES[scope]  # type: ignore[index]
        else:
            fine.add(name)
    return frozenset(fine)


def describe(permission: str) -> str:
    """``'buy_limit_order' (scope 'trade')``, for messages."""
    return f"{permission!r} (scope {scope_of(permission).value!r})"


def summary(permissions: frozenset[str] | None) -> str:
    """What a key was said to have, for messages: ``read, trade`` or ``not said (all)``."""
    if permissions is None:
        return "not said (all assumed)"
    return ", ".join(sorted(permissions))
