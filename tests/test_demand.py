"""Pure demand, quota and rate-limit logic, driven by an injected clock."""

from __future__ import annotations

import pytest

from gateway.core.demand import Demand, Lease
from gateway.core.quota import Quotas, Refused, place
from gateway.core.ratelimit import ConnectGate, TokenBucket


def test_leases_are_reference_counted() -> None:
    """The first lease makes a topic wanted; it stays while any holder remains."""
    demand = Demand(grace=10)
    assert demand.lease("a", ["t1", "t2"], expires=130, now=100) == ["t1", "t2"]
    assert demand.lease("b", ["t1"], expires=140, now=101) == []  # already wanted
    assert demand.holders("t1") == {"a": 130, "b": 140}
    assert demand.release("a", ["t1", "t9"], now=102) == ["t1"]
    assert demand.is_wanted("t1", 102) and demand.removable(102) == []
    assert demand.release("b", ["t1"], now=103) == ["t1"]
    assert demand.is_wanted("t1", 112.9) and demand.removable(112.9) == []
    assert not demand.is_wanted("t1", 113) and demand.removable(113) == ["t1"]
    demand.forget("t1")
    assert demand.removable(200) == [] and "t1" not in demand.topics()


def test_expiry_and_renewal() -> None:
    """Unrenewed leases expire; a renewal pushes the expiry out; expiry starts the grace."""
    demand = Demand(grace=5)
    demand.lease("a", ["t"], expires=110, now=100)
    demand.lease("a", ["t"], expires=120, now=105)  # renewed
    assert demand.expire(115) == []
    assert demand.expire(120) == [Lease("t", "a", 120)]
    assert demand.is_wanted("t", 124.9) and demand.removable(125) == ["t"]
    assert demand.lease("b", ["t"], expires=200, now=124) == []  # back within grace: no resubscribe
    assert demand.removable(300) == [] and demand.grace_until("t") is None


def test_pinned_topics_are_never_removed() -> None:
    """Config topics stay wanted with or without leases."""
    demand = Demand(grace=1, pinned=["p"])
    assert demand.lease("a", ["p"], expires=10, now=0) == []
    demand.expire(10)
    assert demand.is_wanted("p", 1000) and demand.removable(1000) == []


@pytest.mark.parametrize(
    ("loads", "quotas", "expected"),
    [
        ([], Quotas(connections=1, subscriptions_per_connection=2), 0),
        ([1], Quotas(connections=1, subscriptions_per_connection=2), 0),
        ([2], Quotas(connections=2, subscriptions_per_connection=2), 1),
        ([2, 1], Quotas(connections=2, subscriptions_per_connection=2), 1),
        ([2], Quotas(connections=1, subscriptions_per_connection=2), "connections"),
        ([1, 1], Quotas(connections=3, subscriptions_total=2), "subscriptions_total"),
    ],
)
def test_placement_shards_then_refuses_with_the_quota_name(
    loads: list[int], quotas: Quotas, expected: int | str
) -> None:
    """A full connection spills onto a new one while the quota allows; else the quota is named."""
    result = place(loads, quotas)
    if isinstance(expected, str):
        assert isinstance(result, Refused) and result.quota == expected
    else:
        assert result == expected


def test_token_bucket() -> None:
    """Tokens refill at the rate up to the burst; waits are exact."""
    bucket = TokenBucket(rate=2, burst=3, now=0)
    assert [bucket.try_take(0) for _ in range(4)] == [True, True, True, False]
    assert bucket.wait_time(0) == 0.5
    assert bucket.try_take(0.5) and not bucket.try_take(0.5)
    assert bucket.wait_time(10, n=3) == 0  # refilled to the burst, not beyond
    bucket.drain(10)
    assert bucket.wait_time(10) == 0.5
    with pytest.raises(ValueError):
        TokenBucket(rate=0, burst=1)


def test_connect_gate() -> None:
    """Connects respect the least interval and the per-minute budget; 429s spend the budget."""
    gate = ConnectGate(min_interval=5, per_minute=2, now=0)
    assert gate.delay(0) == 0
    gate.connecting(0)
    assert gate.delay(1) == 4
    gate.connecting(5)
    assert gate.delay(10) == pytest.approx(20)  # two used: wait for a token at 2/minute
    gate.set_limits(per_minute=600, per_hour=None, now=10)
    assert gate.delay(10) == 0
    gate.refused(10)
    assert gate.delay(10) == pytest.approx(0.1)
