"""ModelService with the tiny random Qwen models: streaming, the exact prompt, stop, concurrency, errors, unload."""

from __future__ import annotations

import gc
import json
import threading
import weakref
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from engine.errors import LoragError
from engine.models.generation import GenerationParams
from engine.models.loading import LoadOptions, download
from engine.models.service import ModelService
from engine.models.thinking import ALWAYS, NONE
from tests.conftest import need_shared

# A random tiny model repeats one token forever; the penalty makes its greedy output varied text.
GREEDY = GenerationParams(temperature=0, max_new_tokens=12, repetition_penalty=1.5)
CHAT = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "What is two plus two?"},
        {"role": "assistant", "content": "Four."}, {"role": "user", "content": "And three plus three?"}]


def with_template(src: Path, dest: Path, template: str) -> Path:
    """A copy of a model folder (links to the big files) with another chat template."""
    dest.mkdir(parents=True)
    for item in src.iterdir():
        if item.name != "chat_template.jinja":
            (dest / item.name).symlink_to(item)
    (dest / "chat_template.jinja").write_text(template)
    return dest


@pytest.fixture(scope="module")
def service(tmp_path_factory, tiny_qwen3):
    root = tmp_path_factory.mktemp("svc")
    svc = ModelService(root / "models", root / "adapters")
    svc.load(str(tiny_qwen3))
    return svc


@pytest.fixture(scope="module")
def tokenizer(tiny_qwen3):
    return AutoTokenizer.from_pretrained(tiny_qwen3)


def collect(stream):
    events = list(stream)
    assert events[-1].kind == "done"
    return events[:-1], events[-1]


def test_stream_yields_text_then_stats(service, tokenizer):
    deltas, done = collect(service.stream_chat(CHAT, GREEDY))
    assert deltas and all(e.kind == "answer" and e.delta for e in deltas)
    assert done.answer == "".join(e.delta for e in deltas).rstrip()
    assert done.answer and done.reasoning == ""
    ids = tokenizer.apply_chat_template(CHAT, add_generation_prompt=True, tokenize=True, return_dict=True)
    stats = done.stats
    assert stats.prompt_tokens == len(ids["input_ids"])
    assert 1 <= stats.completion_tokens <= GREEDY.max_new_tokens
    assert stats.tokens_per_second > 0 and stats.finish_reason in {"eos", "length"}


def test_rendered_prompt_is_the_tokenizers_template(service, tokenizer):
    expected = tokenizer.apply_chat_template(CHAT, add_generation_prompt=True, tokenize=False)
    assert service.render_prompt(CHAT) == expected
    assert expected.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")


def test_streamed_reply_equals_bare_generate(service, tokenizer, tiny_qwen3):
    """Same tokens as a plain model.generate with the same greedy settings: the stream adds nothing, drops nothing."""
    model = AutoModelForCausalLM.from_pretrained(tiny_qwen3)
    inputs = tokenizer.apply_chat_template(CHAT, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=12, do_sample=False, repetition_penalty=1.5)
    bare = tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    _, done = collect(service.stream_chat(CHAT, GREEDY))
    assert done.answer == bare.strip()


def test_completion_has_no_template(service, tokenizer):
    deltas, done = collect(service.stream_completion("The capital of France is", GREEDY))
    assert done.stats.prompt_tokens == len(tokenizer("The capital of France is")["input_ids"])
    assert done.answer == "".join(e.delta for e in deltas)
    assert service.count_tokens("The capital of France is") == done.stats.prompt_tokens


def test_stop_ends_a_long_stream(service):
    stream = service.stream_chat(CHAT, GenerationParams(temperature=0, max_new_tokens=3000), request_id="page-1")
    first = next(stream)
    assert first.kind == "answer"
    assert service.stop("page-1")
    rest = list(stream)
    done = rest[-1]
    assert done.kind == "done" and done.stats.finish_reason == "stopped"
    assert done.stats.completion_tokens < 3000
    assert not service.stop("page-1")  # it is gone


def test_stop_string_cuts_the_reply(service):
    _, full = collect(service.stream_chat(CHAT, GREEDY))
    words = full.answer.split()
    cut = words[len(words) // 2] if len(words) > 1 else full.answer[len(full.answer) // 2:]
    params = GenerationParams(temperature=0, max_new_tokens=12, repetition_penalty=1.5, stop=[cut])
    _, done = collect(service.stream_chat(CHAT, params))
    assert done.stats.finish_reason == "stop_string"
    assert cut not in done.answer and full.answer.startswith(done.answer)


def test_sampling_with_a_seed_repeats(service):
    params = GenerationParams(temperature=0.9, top_p=0.95, top_k=50, min_p=0.05, max_new_tokens=10, seed=1234)
    _, first = collect(service.stream_chat(CHAT, params))
    _, second = collect(service.stream_chat(CHAT, params))
    assert first.answer == second.answer and first.stats.seed == 1234


def test_two_requests_at_once_each_get_their_own_answer(service):
    """Serialized on one model: concurrent requests give exactly what each gives alone."""
    prompts = [CHAT, [{"role": "user", "content": "hi"}]]
    alone = [collect(service.stream_chat(p, GREEDY))[1].answer for p in prompts]
    assert alone[0] and alone[1] and alone[0] != alone[1]
    results: dict[int, str] = {}

    def run(n, i):  # one request id per request: a repeated id means "the same page asked again"
        results[n] = collect(service.stream_chat(prompts[i], GREEDY, request_id=f"r{n}"))[1].answer

    threads = [threading.Thread(target=run, args=(n, i)) for n, i in enumerate((0, 1, 0, 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == {0: alone[0], 1: alone[1], 2: alone[0], 3: alone[1]}


def test_abandoned_stream_frees_the_model(service):
    stream = service.stream_chat(CHAT, GenerationParams(temperature=0, max_new_tokens=3000))
    next(stream)
    stream.close()  # the page went away mid-reply
    _, done = collect(service.stream_chat(CHAT, GREEDY))  # would hang if the model stayed busy
    assert done.stats.completion_tokens >= 1


def test_thinking_template_reasoning_never_in_answer(tmp_path, tiny_qwen3):
    folder = with_template(tiny_qwen3, tmp_path / "thinking-model",
                           need_shared("fixtures", "chat-templates", "qwen3_thinking_2507.jinja").read_text())
    svc = ModelService(tmp_path / "models", tmp_path / "adapters")
    info = svc.load(str(folder))
    assert info.thinking == ALWAYS
    events, done = collect(svc.stream_chat([{"role": "user", "content": "hi"}], GREEDY))
    assert svc.render_prompt([{"role": "user", "content": "hi"}]).endswith("<think>\n")
    reasoning = "".join(e.delta for e in events if e.kind == "reasoning")
    answer = "".join(e.delta for e in events if e.kind == "answer")
    assert "think>" not in done.answer and done.reasoning == reasoning.strip()
    assert done.answer == answer.strip()
    assert reasoning  # a random model never closes </think>: everything it says is reasoning


def test_no_model_loaded(tmp_path):
    svc = ModelService(tmp_path / "models", tmp_path / "adapters")
    assert svc.current is None and svc.summary() == "none loaded"
    with pytest.raises(LoragError, match="No model is loaded"):
        list(svc.stream_chat([{"role": "user", "content": "hi"}]))
    with pytest.raises(LoragError, match="No model is loaded"):
        svc.render_prompt([{"role": "user", "content": "hi"}])


def test_errors_people_cause(tmp_path):
    svc = ModelService(tmp_path / "models", tmp_path / "adapters")
    with pytest.raises(LoragError, match="neither a preset"):
        svc.load(str(tmp_path / "no-such-folder"))
    with pytest.raises(LoragError, match="not downloaded"):
        svc.load("Qwen/No-Such-Model-Here")
    t5 = tmp_path / "t5"
    t5.mkdir()
    (t5 / "config.json").write_text(json.dumps({"model_type": "t5", "architectures": ["T5ForConditionalGeneration"]}))
    with pytest.raises(LoragError, match="not a text-generation"):
        svc.load(str(t5))
    with pytest.raises(LoragError, match="Unknown quantization"):
        svc.load(LoadOptions(source=str(t5), quantization="3bit"))
    with pytest.raises(LoragError, match="no connection|no model"):
        download("Qwen/No-Such-Model-Here", tmp_path / "dl")  # offline here: the hub cannot be reached
    assert svc.current is None


def test_memory_estimate_before_loading(tmp_path, tiny_qwen3):
    svc = ModelService(tmp_path / "models", tmp_path / "adapters")
    full = svc.estimate(str(tiny_qwen3), dtype="fp32")
    four = svc.estimate(str(tiny_qwen3), quantization="4bit")
    model = AutoModelForCausalLM.from_pretrained(tiny_qwen3)
    assert full.params == sum(p.numel() for p in model.parameters())
    assert full.weights_bytes == full.params * 4
    assert four.weights_bytes < full.weights_bytes / 6
    assert full.kv_bytes_per_1k > 0 and "GB" in full.summary()
    preset = svc.estimate("qwen3-8b", quantization="4bit")  # not downloaded: from the preset's size
    assert 4e9 < preset.weights_bytes < 6e9 and "preset" in preset.note


def test_second_load_replaces_the_first_and_unload_frees(tmp_path, tiny_qwen3, tiny_qwen2):
    svc = ModelService(tmp_path / "models", tmp_path / "adapters")
    svc.load(str(tiny_qwen3))
    first = weakref.ref(svc._loaded.model)
    info = svc.load(str(tiny_qwen2))
    gc.collect()
    assert first() is None, "the first model is still in memory"
    assert info.fingerprint.architecture == "Qwen2ForCausalLM" and info.device == "cpu"
    second = weakref.ref(svc._loaded.model)
    report = svc.unload()
    gc.collect()
    assert second() is None and svc.current is None
    assert report.name == info.name and report.ram_freed_bytes >= 0
    assert svc.unload() is None
    assert info.thinking == NONE


def test_thinking_switch_reaches_the_hybrid_template(tmp_path, tiny_qwen3):
    from engine.models.thinking import SWITCHABLE

    source = need_shared("fixtures", "chat-templates", "qwen3_nonthinking.jinja").read_text()
    closed = "{{- '<|im_start|>assistant\\n<think>\\n\\n</think>\\n\\n' }}"
    hybrid = source.replace(closed, "{{- '<|im_start|>assistant\\n' }}{%- if enable_thinking is defined and "
                                    "enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}")
    assert hybrid != source
    svc = ModelService(tmp_path / "models", tmp_path / "adapters")
    assert svc.load(str(with_template(tiny_qwen3, tmp_path / "hybrid", hybrid))).thinking == SWITCHABLE
    question = [{"role": "user", "content": "hi"}]
    assert svc.render_prompt(question, thinking=False).endswith("assistant\n<think>\n\n</think>\n\n")
    assert svc.render_prompt(question, thinking=True).endswith("<|im_start|>assistant\n")
    _, done = collect(svc.stream_chat(question, GREEDY, thinking=False))
    assert "think>" not in done.answer and done.reasoning == ""
