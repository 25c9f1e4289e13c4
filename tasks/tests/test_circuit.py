"""Circuit breakers: a failing dependency is left alone for the cooldown, then tried again."""

import time

import pytest
from redis.exceptions import TimeoutError as RedisTimeout

from tasks.circuit import DependencyBreaker


class Dependency:
    """Counts calls; fails while `failing` is set."""

    def __init__(self):
        self.calls, self.failing = 0, False

    def __call__(self):
        self.calls += 1
        if self.failing:
            raise RedisTimeout("no answer")
        return "answer"


def test_a_failure_opens_the_breaker_for_the_cooldown_then_one_call_tries_again(settings):
    settings.CIRCUIT_BREAKER_COOLDOWN = 1
    breaker, dependency = DependencyBreaker("redis", RedisTimeout), Dependency()
    assert breaker.call_or("fallback", dependency) == "answer"

    dependency.failing = True
    assert breaker.call_or("fallback", dependency) == "fallback"
    assert [breaker.call_or("fallback", dependency) for _ in range(50)] == ["fallback"] * 50
    assert dependency.calls == 2  # the 50 calls during the cooldown never reached it

    time.sleep(1.1)
    assert breaker.call_or("fallback", dependency) == "fallback"  # tried once, failed: open again
    assert dependency.calls == 3

    dependency.failing = False
    time.sleep(1.1)
    assert [breaker.call_or("fallback", dependency) for _ in range(3)] == ["answer"] * 3
    assert dependency.calls == 6


def test_other_errors_pass_through_and_leave_the_breaker_closed():
    breaker = DependencyBreaker("redis", RedisTimeout)

    def broken():
        raise KeyError("a bug, not an outage")

    with pytest.raises(KeyError):  # a bug is not hidden behind the fallback
        breaker.call_or("fallback", broken)
    assert breaker.closed


def test_an_error_it_does_not_watch_neither_opens_nor_closes_the_breaker(settings):
    settings.CIRCUIT_BREAKER_COOLDOWN = 1
    breaker = DependencyBreaker("redis", RedisTimeout)
    with pytest.raises(RedisTimeout), breaker:
        raise RedisTimeout("no answer")
    time.sleep(1.1)
    assert breaker.state == "half_open"

    # The trial call after the cooldown hit a bug, not an answer: the dependency is no more
    # proven healthy than before, so the breaker stays half-open rather than closing.
    with pytest.raises(KeyError), breaker:
        raise KeyError("a bug, not an outage")
    assert breaker.state == "half_open"
    assert not breaker.closed

    with breaker:
        pass
    assert breaker.closed
