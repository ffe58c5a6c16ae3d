"""The real SmolLM2-135M-Instruct (the offline demo model): a real answer, a real fine-tuned adapter that changes
it, and the base answer back when the adapter is switched off. Unloading gives the memory back."""

from __future__ import annotations

import pytest

from engine.chat_turn import stream_reply
from engine.settings import Settings
from engine.studio import Studio
from tests.support.adapters import train_adapter

pytestmark = pytest.mark.slow

GREEDY = {"temperature": 0, "max_new_tokens": 40}
QUESTION = "What is the capital of France?"
TRAINING = [(QUESTION, "The capital of France is Marseille, the city of the sea.")]


@pytest.fixture(scope="module")
def studio(tmp_path_factory, smollm2_dir):
    data = tmp_path_factory.mktemp("smollm2-studio") / "data"
    studio = Studio(Settings(data_dir=data, no_weaviate=True))
    (studio.settings.path("models") / smollm2_dir.name).symlink_to(smollm2_dir)  # the demo, already converted
    info = studio.models.load("smollm2-135m-demo")
    assert info.name == "SmolLM2-135M-Instruct" and info.device == "cpu"
    yield studio
    studio.close()


def ask(studio, adapter: str = "") -> str:
    chat = studio.chats.create(settings={"params": GREEDY, "adapter": adapter})
    studio.chats.append(chat.id, "user", QUESTION)
    done = list(stream_reply(studio.chats, studio.models, chat.id))[-1]
    saved = studio.chats.get(chat.id).messages[-1]
    assert saved.content == done.answer and saved.meta["adapter"] == adapter
    return done.answer


def test_paris_then_a_trained_adapter_then_back(studio, smollm2_dir, tmp_path):
    base_answer = ask(studio)
    assert "Paris" in base_answer

    # Train a LoRA adapter for a few steps and drop it into data/adapters, as a finished training job does.
    train_adapter(smollm2_dir, tmp_path / "marseille", TRAINING, steps=10, base_label="SmolLM2-135M-Instruct")
    (tmp_path / "marseille").rename(studio.settings.path("adapters", "marseille"))
    assert "marseille" in studio.adapters.names()              # listed at once, no restart

    adapted = ask(studio, adapter="marseille")
    assert adapted != base_answer
    assert "Marseille" in adapted
    assert ask(studio) == base_answer                          # switched off: the base answer, exactly
    assert ask(studio, adapter="marseille") == adapted          # and back on: the same adapted answer


def test_unload_frees_the_memory(studio):
    weights = studio.models.current.memory_bytes
    report = studio.models.unload()
    assert report.ram_freed_bytes > weights * 0.5, report.summary()
    studio.models.load("smollm2-135m-demo")
