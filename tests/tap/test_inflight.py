"""The adaptive in-flight limit: halves once per overload round, honours Retry-After,
grows back by one per healthy round, never above its ceiling nor below one."""

from __future__ import annotations

import threading

from tap_oracle_wms.inflight import AdaptiveLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_overloads_halves_once_then_each_new_round_halves_again() -> None:
    limiter = AdaptiveLimiter(8)
    slots = [limiter.acquire() for _ in range(8)]
    assert limiter.in_flight == 8 and limiter.peak == 8
    for slot in slots:  # eight 504s answering requests sent together
        slot.overload("HTTP 504")
        limiter.release(slot)
    assert limiter.limit == 4, "one burst is one signal"
    slot = limiter.acquire()  # sent after the cut: its overload cuts again
    slot.overload("HTTP 504")
    limiter.release(slot)
    assert limiter.limit == 2
    for _ in range(5):
        slot = limiter.acquire()
        slot.overload("timeout")
        limiter.release(slot)
    assert limiter.limit == 1


def test_recovers_by_one_per_round_of_healthy_answers_up_to_the_ceiling() -> None:
    limiter = AdaptiveLimiter(4)
    slot = limiter.acquire()
    slot.overload("HTTP 429")
    limiter.release(slot)
    assert limiter.limit == 2
    seen = []
    for _ in range(40):
        slot = limiter.acquire()
        slot.ok()
        limiter.release(slot)
        seen.append(limiter.limit)
    assert seen[0] == 2 and seen[1] == 3, "a round at limit 2 is two healthy answers"
    assert max(seen) == 4 and seen == sorted(seen), "grows one step at a time, capped"


def test_neutral_answers_do_not_move_the_limit() -> None:
    limiter = AdaptiveLimiter(3)
    for _ in range(10):
        limiter.release(limiter.acquire())  # e.g. a 404 or a 500: no signal
    assert limiter.limit == 3


def test_no_more_than_limit_requests_at_once() -> None:
    limiter = AdaptiveLimiter(2)
    first, second = limiter.acquire(), limiter.acquire()
    got: list[int] = []
    third = threading.Thread(target=lambda: got.append(limiter.acquire().ticket))
    third.start()
    third.join(0.2)
    assert third.is_alive() and not got, "a third request went out past the limit"
    limiter.release(first)
    third.join(5)
    assert got and limiter.in_flight == 2
    limiter.release(second)


def test_retry_after_pauses_new_requests_until_it_has_passed() -> None:
    clock = FakeClock()
    limiter = AdaptiveLimiter(4, clock=clock)
    slot = limiter.acquire()
    slot.overload("HTTP 429", retry_after=30)
    limiter.release(slot)
    got: list[int] = []
    waiter = threading.Thread(target=lambda: got.append(limiter.acquire().ticket))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive(), "a request went out during Retry-After"
    clock.now += 31
    with limiter._cond:  # wake the waiter to look at the (fake) clock again
        limiter._cond.notify_all()
    waiter.join(5)
    assert got
