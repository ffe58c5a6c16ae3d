"""The model's line: one holder at a time, the others served in the order they came, each knowing its place."""

from __future__ import annotations

import threading
import time

from engine.models.turns import Ticket, Turns


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_waiters_are_served_in_the_order_they_came_and_know_their_place():
    turns, served, tickets = Turns(), [], [Ticket() for _ in range(4)]
    first_holds, release = threading.Event(), threading.Event()

    def holder():
        with turns.hold(tickets[0]):
            first_holds.set()
            release.wait(10)

    def waiter(number: int):
        with turns.hold(tickets[number]):
            served.append(number)

    threads = [threading.Thread(target=holder)]
    threads[0].start()
    first_holds.wait(10)
    for number in (1, 2, 3):          # each joins the line only after the one before it is in
        threads.append(threading.Thread(target=waiter, args=(number,)))
        threads[-1].start()
        wait_until(lambda number=number: turns.place(tickets[number]) == number)
    assert [turns.place(t) for t in tickets] == [0, 1, 2, 3] and turns.length() == 4
    release.set()
    for thread in threads:
        thread.join(10)
    assert served == [1, 2, 3]
    assert turns.length() == 0 and turns.place(tickets[1]) == -1


def test_a_waiter_whose_request_was_cancelled_leaves_the_line():
    turns, ticket, cancelled, outcome = Turns(), Ticket(), threading.Event(), []
    with turns.hold():
        thread = threading.Thread(target=lambda: outcome.append(turns.hold(ticket, cancelled).__enter__()))
        thread.start()
        wait_until(lambda: turns.place(ticket) == 1)
        cancelled.set()
        thread.join(5)
        assert outcome == [False] and turns.place(ticket) == -1 and turns.length() == 1


def test_the_expected_wait_follows_the_holds_measured():
    turns = Turns()
    for _ in range(20):
        with turns.hold():
            time.sleep(0.01)
    assert 0.005 < turns.expected_wait(1) < 0.5
    assert turns.expected_wait(3) == 3 * turns.expected_wait(1)
    assert turns.expected_wait(0) == 0
