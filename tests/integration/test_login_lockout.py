"""The page's real sign-in (Gradio's /login on a running studio) under 50 wrong passwords from one address:
answers slow down, the right password is refused from that address and accepted from another."""

import time

import httpx

from tests.support.studio_process import StudioProcess


def _login(url: str, password: str, source: str = "127.0.0.1") -> httpx.Response:
    with httpx.Client(transport=httpx.HTTPTransport(local_address=source), timeout=30) as client:
        return client.post(f"{url}/login", data={"username": "ann", "password": password})


def _wait_for_a_checked_guess(url: str) -> None:
    """Guesses until one is waited out and checked (it takes a second or more): after it, 7 or more wrong passwords in a
    row, the next attempt must wait 16 s or more, past what a request waits, so the right password is refused.
    (Right after the loop the remaining wait depends on how fast the machine answered the refused guesses: under
    5 s left, the right password would be waited out and accepted, as a person who mistyped is.)"""
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        started = time.monotonic()
        assert _login(url, "still-a-guess").status_code == 400
        if time.monotonic() - started >= 1.0:
            return
    raise AssertionError("no guess was waited out and checked within 45 s")


def test_fifty_wrong_passwords_on_the_page_slow_down_and_refuse_that_address(tmp_path):
    studio = StudioProcess(tmp_path / "data", args=["--no-weaviate", "--auth", "ann:right-pw"]).start()
    try:
        assert _login(studio.url, "right-pw").status_code == 200
        started, answers = time.monotonic(), []
        for attempt in range(50):
            answers.append(_login(studio.url, f"guess-{attempt}").status_code)
        elapsed = time.monotonic() - started
        assert set(answers) == {400}
        # The 4th, 5th and 6th guesses waited 1 + 2 + 4 s inside their requests; the 7th onwards (8 s and more to
        # wait) were refused at once without their passwords being checked.
        assert 7.0 <= elapsed < 20.0, elapsed
        _wait_for_a_checked_guess(studio.url)
        assert _login(studio.url, "right-pw").status_code == 400
        assert _login(studio.url, "right-pw", source="127.0.0.2").status_code == 200
        assert "wrong password for login 'ann' from 127.0.0.1 (6 in a row)" in studio.log_tail(200)
    finally:
        studio.stop()
