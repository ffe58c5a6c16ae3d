"""Logins under attack: 50 wrong passwords against one login, on a clock the test moves (no real sleeping)."""

import logging

from engine.access import AccessPlan
from engine.lockout import LOCK_AFTER, LOCK_S, MAX_COUNTS, MAX_DELAY_S, LoginGuard, delay_after


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def plan(clock: Clock) -> AccessPlan:
    return AccessPlan(users={"ann": "right-pw", "bob": "bob-pw"}, guard=LoginGuard(clock=clock))


def test_the_delay_grows_exponentially_up_to_a_cap():
    assert [delay_after(n) for n in range(1, 10)] == [0, 0, 1, 2, 4, 8, 16, MAX_DELAY_S, MAX_DELAY_S]


def test_fifty_wrong_passwords_slow_then_lock_the_login_from_that_client(caplog):
    clock = Clock()
    caplog.set_level(logging.INFO, logger="engine.lockout")
    access = plan(clock)
    checked, waits = 0, []
    for attempt in range(50):
        refusal = access.guard.refusal("ann", "10.0.0.9")
        if refusal is not None and not refusal.locked:
            waits.append(round(refusal.retry_after))
            clock.now += refusal.retry_after  # the attacker waits out every slow-down, the best it can do
        before = access.guard.refusal("ann", "10.0.0.9")
        assert not access.check("ann", f"guess-{attempt}", "10.0.0.9")
        checked += before is None
        clock.now += 0.1
    # Three free guesses, then 1, 2, 4 ... 30 s between guesses, then locked: 10 passwords were ever checked.
    assert checked == LOCK_AFTER
    assert waits == [1, 2, 4, 8, 16, 30, 30]
    locked = access.guard.refusal("ann", "10.0.0.9")
    assert locked.locked and LOCK_S - 60 < locked.retry_after <= LOCK_S
    assert "locked for 15 min after 10 wrong passwords" in caplog.text and "'ann' from 10.0.0.9" in caplog.text
    # The right password does not open a locked login (it is not even compared)...
    assert not access.check("ann", "right-pw", "10.0.0.9")
    # ...but Ann from her own machine, and Bob from the attacker's, are not locked out.
    assert access.check("ann", "right-pw", "10.0.0.20")
    assert access.check("bob", "bob-pw", "10.0.0.9")


def test_a_lock_ends_and_one_more_wrong_password_locks_again():
    clock = Clock()
    access = plan(clock)
    for _ in range(LOCK_AFTER):
        clock.now += MAX_DELAY_S
        access.check("ann", "wrong", "c")
    assert access.guard.refusal("ann", "c").locked
    clock.now += LOCK_S + 1
    assert access.guard.refusal("ann", "c") is None
    assert not access.check("ann", "wrong again", "c")
    assert access.guard.refusal("ann", "c").locked
    clock.now += LOCK_S + 1
    assert access.check("ann", "right-pw", "c")
    assert access.guard.refusal("ann", "c") is None  # a right password clears the count
    assert not access.check("ann", "typo", "c") and access.check("ann", "right-pw", "c")


def test_attempts_sent_at_once_are_counted_before_their_passwords_are_checked():
    clock = Clock()
    guard = LoginGuard(clock=clock)
    admitted = [guard.admit("ann", "c") is None for _ in range(50)]  # 50 in flight, none answered yet
    assert admitted[:3] == [True] * 3 and not any(admitted[3:])  # three free ones; the rest wait their delay


def test_a_spray_of_made_up_names_does_not_grow_memory_without_bound_nor_free_a_locked_login():
    clock = Clock()
    access = plan(clock)
    for _ in range(LOCK_AFTER):
        clock.now += MAX_DELAY_S
        access.check("ann", "wrong", "c")
    for i in range(MAX_COUNTS + 10):
        access.check(f"nobody-{i}", "x", "c")
    assert len(access.guard._counts) <= MAX_COUNTS
    assert access.guard.refusal("ann", "c").locked
