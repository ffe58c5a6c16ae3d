"""LoRA hot-swap on one base model (tiny random Qwen3, real peft adapters): exact logits, switching back,
"none" equals the base, the last adapter removed leaves the base intact, eviction, compatibility, merge."""

from __future__ import annotations

import os
import shutil
import time

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from engine.errors import LoragError
from engine.models.generation import GenerationParams
from engine.settings import Settings
from engine.studio import Studio
from tests.support.adapters import make_random_adapter

PROMPT = "Hello world, the capital of France is"


@pytest.fixture(scope="module")
def made(tmp_path_factory, tiny_qwen3, tiny_qwen2):
    """Adapters built once: two for the Qwen3 base, one for Qwen2 (another base)."""
    root = tmp_path_factory.mktemp("made-adapters")
    return {
        "alpha": make_random_adapter(tiny_qwen3, root / "alpha", seed=1),
        "beta.v2": make_random_adapter(tiny_qwen3, root / "beta.v2", seed=2, targets=("q_proj", "o_proj", "up_proj")),
        "gamma": make_random_adapter(tiny_qwen3, root / "gamma", seed=3),
        "for-qwen2": make_random_adapter(tiny_qwen2, root / "for-qwen2", seed=4, base_label="tiny-qwen2-base"),
    }


@pytest.fixture
def studio(tmp_path, tiny_qwen3, made):
    studio = Studio(Settings(data_dir=tmp_path / "data", no_weaviate=True))
    for name in ("alpha", "beta.v2", "gamma"):
        studio.adapters.import_folder(made[name], name)
    studio.models.load(str(tiny_qwen3))
    yield studio
    studio.close()


def logits(studio, adapter=None):
    return studio.models.next_token_logits(PROMPT, adapter)


def test_two_adapters_switch_back_exactly_and_none_is_the_base(studio, tiny_qwen3):
    base = logits(studio)
    reference = AutoModelForCausalLM.from_pretrained(tiny_qwen3)
    ids = AutoTokenizer.from_pretrained(tiny_qwen3)(PROMPT, return_tensors="pt")
    with torch.no_grad():
        assert torch.equal(base, reference(**ids).logits[0, -1])
    alpha = logits(studio, "alpha")
    beta = logits(studio, "beta.v2")
    assert not torch.equal(alpha, base) and not torch.equal(beta, base) and not torch.equal(alpha, beta)
    assert sorted(studio.models.resident_adapters()) == ["alpha", "beta.v2"]
    assert torch.equal(logits(studio, "alpha"), alpha)       # switching back: bit for bit
    assert torch.equal(logits(studio), base)                 # "none" with adapters resident: the base exactly
    assert torch.equal(logits(studio, "beta.v2"), beta)


def test_switching_is_a_swap_not_a_reload(studio):
    first = studio.adapters.activate("alpha")
    again = studio.adapters.activate("alpha")
    assert first > 0 and again == 0.0


def test_removing_the_last_adapter_keeps_the_base_working(studio):
    base = logits(studio)
    logits(studio, "alpha")
    logits(studio, "beta.v2")
    assert studio.adapters.unload("alpha")
    assert torch.equal(logits(studio), base)
    studio.adapters.delete("beta.v2")                         # the last one: deleted from memory and disk
    assert studio.models.resident_adapters() == []
    assert "beta.v2" not in [a.name for a in studio.adapters.list()]
    assert torch.equal(logits(studio), base)
    _, done = list(studio.models.stream_chat([{"role": "user", "content": "hi"}],
                                             GenerationParams(temperature=0, max_new_tokens=3)))[-2:]
    assert done.kind == "done" and done.stats.completion_tokens >= 1
    alpha_again = logits(studio, "alpha")                     # adapters still load afterwards
    assert not torch.equal(alpha_again, base)


def test_least_recently_used_adapter_is_evicted(studio):
    studio.models._loaded.host.max_resident = 2
    alpha = logits(studio, "alpha")
    logits(studio, "beta.v2")
    logits(studio, "gamma")
    assert studio.models.resident_adapters() == ["beta.v2", "gamma"]
    assert torch.equal(logits(studio, "alpha"), alpha)        # reloaded from disk, same numbers


def test_a_retrained_adapter_is_reloaded(studio, made, tiny_qwen3, tmp_path):
    before = logits(studio, "alpha")
    retrained = make_random_adapter(tiny_qwen3, tmp_path / "retrained", seed=9)
    target = studio.adapters.folder("alpha")
    time.sleep(0.01)
    shutil.copy(retrained / "adapter_model.safetensors", target / "adapter_model.safetensors")
    os.utime(target / "adapter_model.safetensors", (time.time() + 5, time.time() + 5))
    assert not torch.equal(logits(studio, "alpha"), before)


def test_adapter_for_another_base_is_refused(studio, made):
    studio.adapters.import_folder(made["for-qwen2"], "for-qwen2")
    info = studio.adapters.get("for-qwen2")
    assert info.compatible is False
    assert "tiny-qwen2-base" in info.reason and "Qwen2ForCausalLM" in info.reason
    assert "for-qwen2" not in studio.adapters.names()
    with pytest.raises(LoragError, match="was made for tiny-qwen2-base"):
        logits(studio, "for-qwen2")
    with pytest.raises(LoragError, match="was made for"):
        list(studio.models.stream_chat([{"role": "user", "content": "hi"}], adapter="for-qwen2"))


def test_shape_check_refuses_without_metadata(studio, tmp_path, tiny_qwen3):
    """An imported adapter with no lorag.json is still checked: its matrices must fit the layers."""
    import json

    wide = tmp_path / "wide"
    shutil.copytree(tiny_qwen3, wide)
    config = json.loads((wide / "config.json").read_text())
    config.update(hidden_size=64, intermediate_size=128, head_dim=16)
    (wide / "config.json").write_text(json.dumps(config))
    torch.manual_seed(0)
    from transformers import AutoConfig

    AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(wide)).save_pretrained(wide)
    adapter = make_random_adapter(wide, tmp_path / "wide-adapter", seed=5)
    (adapter / "lorag.json").unlink()
    studio.adapters.import_folder(adapter, "no-meta")
    problem = studio.adapters.check("no-meta")
    assert "input size 32 here but 64 in the adapter" in problem
    with pytest.raises(LoragError, match="input size"):
        studio.adapters.activate("no-meta")


def test_adapter_in_a_chat_stream(studio):
    params = GenerationParams(temperature=0, max_new_tokens=6, repetition_penalty=1.5)
    chat = [{"role": "user", "content": "hi"}]
    done = list(studio.models.stream_chat(chat, params, adapter="alpha"))[-1]
    assert done.stats.adapter == "alpha"
    base_done = list(studio.models.stream_chat(chat, params))[-1]
    assert base_done.stats.adapter == ""


def test_merge_and_export_gives_a_loadable_model(studio, tmp_path):
    adapter_logits = logits(studio, "alpha")
    base_logits = logits(studio)
    folder = studio.adapters.merge_export("alpha", "tiny-merged")
    assert folder == studio.settings.path("models", "tiny-merged").resolve()
    assert (folder / "chat_template.jinja").is_file() and (folder / "model.safetensors").is_file()
    assert torch.equal(logits(studio), base_logits)           # the loaded base stayed clean
    studio.models.load(str(folder))
    assert torch.allclose(logits(studio), adapter_logits, atol=1e-4)
    with pytest.raises(LoragError, match="already exists"):
        studio.adapters.merge_export("alpha", "tiny-merged")


def test_merge_as_a_job(studio):
    job = studio.adapters.start_merge_export("gamma", "gamma-merged")
    done = studio.jobs.wait(job.id, timeout=120)
    assert done.status == "completed", done.message
    assert (studio.settings.path("models", "gamma-merged") / "config.json").is_file()


def test_fast_switch_leaves_the_state_peft_set_adapter_leaves(studio):
    """The host names the active adapter on each LoRA layer itself after the first activation (peft's own walk
    costs ~17 ms a switch on SmolLM2): the layers, the flags and the logits must be those of peft's set_adapter."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    for name in ("alpha", "beta.v2", "alpha", "beta.v2"):   # the second round takes the fast path
        fast = logits(studio, name)
    host = studio.models._loaded.host
    with host.use("beta.v2") as model:
        layers = [m for m in model.modules() if isinstance(m, BaseTunerLayer)]
        ours = [list(m.active_adapters) for m in layers]
        model.set_adapter(host._resident["beta.v2"].key, inference_mode=True)   # peft's own path
        assert ours == [list(m.active_adapters) for m in layers]
        assert model.active_adapter == model.base_model.active_adapter == host._resident["beta.v2"].key
        assert not any(p.requires_grad for n, p in model.named_parameters() if "lora_" in n)
    assert torch.equal(logits(studio, "beta.v2"), fast)
    with host.use(None):
        assert all(m.disable_adapters for m in layers)
    assert not any(m.disable_adapters for m in layers)
    assert not any(p.requires_grad for n, p in model.named_parameters() if "lora_" in n)
