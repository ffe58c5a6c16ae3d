"""Logins: none on loopback, required beyond it, generated for --share, refused when malformed."""

import pytest

from engine.access import GENERATED_USER, ShareState, plan_access
from engine.errors import LoragError
from engine.settings import load_settings


def plan(*argv, env=None):
    return plan_access(load_settings(list(argv), env=env or {}))


def test_loopback_needs_no_login():
    access = plan()
    assert not access.login_required and not access.insecure


def test_listen_without_login_is_refused_with_a_way_out():
    with pytest.raises(LoragError) as err:
        plan("--listen")
    assert "--auth" in str(err.value) and "--auth-file" in str(err.value)
    with pytest.raises(LoragError):
        plan("--host", "192.168.1.5")


def test_insecure_no_auth_is_allowed_but_marked(caplog):
    access = plan("--listen", "--insecure-no-auth")
    assert access.insecure and not access.login_required
    assert "ANYONE" in caplog.text


def test_share_without_login_generates_a_strong_password():
    first, second = plan("--share"), plan("--share")
    assert first.generated and list(first.users) == [GENERATED_USER]
    password = first.users[GENERATED_USER]
    assert len(password) >= 16 and password != second.users[GENERATED_USER]
    assert first.check(GENERATED_USER, password)
    assert not first.check(GENERATED_USER, password + "x") and not first.check("other", password)


def test_auth_flag_and_file(tmp_path):
    users = tmp_path / "users.txt"
    users.write_text("# team\nann:pw-with:colon\n\nbob:bobpw\n")
    access = plan("--share", "--auth", "carl:c1,dora:d2", "--auth-file", str(users))
    assert not access.generated
    assert access.users == {"carl": "c1", "dora": "d2", "ann": "pw-with:colon", "bob": "bobpw"}


@pytest.mark.parametrize("argv, where", [
    (["--auth", "nocolon"], "--auth, entry 1"),
    (["--auth", "a:b,:nouser"], "--auth, entry 2"),
])
def test_malformed_logins_name_the_entry(argv, where):
    with pytest.raises(LoragError, match=where):
        plan(*argv)


def test_missing_auth_file(tmp_path):
    with pytest.raises(LoragError, match="does not exist"):
        plan("--auth-file", str(tmp_path / "nope"))


def test_share_state_summaries():
    assert ShareState().summary() == ""
    ok = ShareState(requested=True, url="https://abc.gradio.live")
    assert "https://abc.gradio.live" in ok.summary() and "expires in about 167 h" in ok.summary()
    failed = ShareState(requested=True, error="no internet?", local_url="http://127.0.0.1:7860/")
    assert "unavailable: no internet?" in failed.summary() and "http://127.0.0.1:7860/" in failed.summary()
