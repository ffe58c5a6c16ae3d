"""Sharing without internet: a generated login, the page keeps serving locally and says why."""

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.rag import wait_for
from tests.support.studio_process import StudioProcess

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]


def _login(page, user, password):
    page.get_by_label("username").fill(user)
    page.get_by_label("password").fill(password)
    page.get_by_role("button", name="Login").click()


def test_share_offline_keeps_serving_behind_a_generated_login(tmp_path, page, test_output):
    studio = StudioProcess(tmp_path / "data", args=["--share", "--no-weaviate", "--api"]).start()
    try:
        wait_for(lambda: "Login (generated" in studio.log_tail(80), timeout=60)
        log = studio.log_tail(80)
        password = re.search(r"Login \(generated for this run\): user 'lorag', password '([^']+)'", log).group(1)
        assert "Share link unavailable" in log and "Serving locally at http://127.0.0.1" in log
        # The API, on the same server, asks for the same login.
        assert httpx.get(f"{studio.url}/v1/models").status_code == 401
        assert httpx.get(f"{studio.url}/v1/models", auth=("lorag", "wrong")).status_code == 401
        assert httpx.get(f"{studio.url}/v1/models", auth=("lorag", password)).json() == {"object": "list", "data": []}
        page.goto(studio.url)
        _login(page, "lorag", "wrong-password")
        page.get_by_text(re.compile("Incorrect credentials", re.I)).wait_for()
        page.screenshot(path=str(test_output / "access-login-refused.png"))
        page.goto(studio.url)
        _login(page, "lorag", password)
        page.locator("[data-testid=status-user]").wait_for(timeout=30_000)
        assert page.locator("[data-testid=status-user]").inner_text() == "Signed in as lorag"
        share = page.locator("[data-testid=status-share]").inner_text()
        assert "Share link unavailable" in share and studio.url in share
        page.screenshot(path=str(test_output / "access-signed-in.png"), full_page=True)
    finally:
        studio.stop()


def test_listen_without_login_does_not_start(tmp_path):
    out = subprocess.run([sys.executable, "launch.py", "--listen", "--data-dir", str(tmp_path), "--no-weaviate"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "needs a login" in out.stderr and "--auth" in out.stderr
