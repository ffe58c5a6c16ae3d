"""Per-person chats: with an owner given, another person's chat is not there (get, exists, list)."""

import pytest

from engine.chats import ChatStore
from engine.errors import LoragError
from engine.ratelimit import RateLimiter
from engine.store import Store


def test_chats_belong_to_their_owner(tmp_path):
    chats = ChatStore(Store(tmp_path / "lorag.sqlite"))
    ann = chats.create("ann's", owner="ann")
    bob = chats.create("bob's", owner="bob")
    local = chats.create("no login")
    assert [c.id for c in chats.list(owner="ann")] == [ann.id]
    assert [c.id for c in chats.list(owner="")] == [local.id]
    assert {c.id for c in chats.list()} == {ann.id, bob.id, local.id}      # no logins: one person sees all
    assert chats.get(ann.id, owner="ann").title == "ann's"
    with pytest.raises(LoragError, match="no longer exists"):
        chats.get(ann.id, owner="bob")
    assert chats.exists(ann.id) and chats.exists(ann.id, "ann") and not chats.exists(ann.id, "bob")
    assert not chats.exists(None, "ann") and not chats.exists("nope")
    imported = chats.import_chat([{"role": "user", "content": "hi"}], owner="bob")
    assert chats.get(imported.id, owner="bob").owner == "bob"


def test_refusal_peek_does_not_count():
    now = [0.0]
    limiter = RateLimiter(1, clock=lambda: now[0])
    assert limiter.refusal("ann") is None
    assert limiter.refusal("ann") is None                      # peeking twice uses nothing
    limiter.check("ann")
    refused = limiter.refusal("ann")
    assert refused is not None and refused.retry_after == 60
    now[0] = 61
    assert limiter.refusal("ann") is None
