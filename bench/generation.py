"""Our streaming chat path against a bare `model.generate` on the same model, prompt and settings.

Ours: `ModelService.stream_chat` (template rendering, tokenization, generation thread, token queue, incremental
decoding, reasoning split), timed from the call to the first answer event (time to first token) and to the done
event. Baseline: `model.generate` on the same model object with the prompt already tokenized, the first token
timed with a do-nothing streamer. Greedy decoding, so both produce the same tokens. Rounds alternate to share
the machine's noise.

    python -m bench.generation [--rounds 5] [--new-tokens 64] [--threads 1]

Targets: tokens/s ratio >= 0.95, time to first token within 30 ms of bare generate.
"""

from __future__ import annotations

import time

from bench._common import demo_models_dir, emit, generation_args, median, say

MESSAGES = [{"role": "user", "content": "Write a short paragraph about the history of Paris."}]


class _FirstToken:
    """Streamer that only notes when the first new token exists."""

    def __init__(self) -> None:
        self.seen_prompt = False
        self.first_at: float | None = None

    def put(self, value) -> None:  # noqa: ANN001
        if not self.seen_prompt:
            self.seen_prompt = True
        elif self.first_at is None:
            self.first_at = time.perf_counter()

    def end(self) -> None:
        pass


def run_ours(service, params) -> dict:
    started = time.perf_counter()
    first = None
    done = None
    for event in service.stream_chat(MESSAGES, params):
        if first is None and event.kind in {"answer", "reasoning"}:
            first = time.perf_counter()
        if event.kind == "done":
            done = event
    total = time.perf_counter() - started
    tokens = done.stats.completion_tokens
    return {"seconds": total, "ttft": (first or time.perf_counter()) - started, "tokens": tokens,
            "tps": tokens / total, "text": done.answer}


def run_bare(model, tokenizer, inputs, params, special) -> dict:
    import torch

    streamer = _FirstToken()
    started = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(**inputs, **params.generate_kwargs(), **special, streamer=streamer)
    total = time.perf_counter() - started
    new = out[0, inputs["input_ids"].shape[1]:]
    return {"seconds": total, "ttft": (streamer.first_at or started) - started, "tokens": int(new.shape[0]),
            "tps": int(new.shape[0]) / total, "text": tokenizer.decode(new, skip_special_tokens=True).strip()}


def main() -> None:
    args = generation_args(__doc__.splitlines()[0])

    import tempfile
    from pathlib import Path

    from engine.models.generation import GenerationParams
    from engine.models.service import ModelService
    from engine.models.streaming import special_ids

    models_dir = demo_models_dir()
    service = ModelService(models_dir, Path(tempfile.mkdtemp(prefix="bench-adapters-")))
    say("loading SmolLM2-135M-Instruct")
    info = service.load("smollm2-135m-demo", device="cpu")
    loaded = service._loaded
    params = GenerationParams(temperature=0, max_new_tokens=args.new_tokens)
    prompt = service.render_prompt(MESSAGES)
    inputs = loaded.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    special = special_ids(loaded, chat=True)

    say("warm-up")
    run_ours(service, params)
    run_bare(loaded.model, loaded.tokenizer, inputs, params, special)
    ours, bare = [], []
    for i in range(args.rounds):
        ours.append(run_ours(service, params))
        bare.append(run_bare(loaded.model, loaded.tokenizer, inputs, params, special))
        say(f"round {i + 1}/{args.rounds}: ours {ours[-1]['tps']:.2f} tok/s ttft {ours[-1]['ttft'] * 1000:.1f} ms"
            f" | bare {bare[-1]['tps']:.2f} tok/s ttft {bare[-1]['ttft'] * 1000:.1f} ms")
    same_text = all(o["text"] == b["text"] for o, b in zip(ours, bare, strict=True))
    ours_tps, bare_tps = median([o["tps"] for o in ours]), median([b["tps"] for b in bare])
    ours_ttft, bare_ttft = median([o["ttft"] for o in ours]), median([b["ttft"] for b in bare])
    ratio = ours_tps / bare_tps
    delta_ms = (ours_ttft - bare_ttft) * 1000
    emit({
        "benchmark": "generation", "model": info.name, "device": info.device, "threads": args.threads,
        "rounds": args.rounds, "new_tokens": ours[0]["tokens"], "same_tokens_as_bare": same_text,
        "ours": {"tokens_per_second": round(ours_tps, 3), "time_to_first_token_ms": round(ours_ttft * 1000, 1)},
        "bare_generate": {"tokens_per_second": round(bare_tps, 3),
                          "time_to_first_token_ms": round(bare_ttft * 1000, 1)},
        "tokens_per_second_ratio": round(ratio, 4), "ttft_delta_ms": round(delta_ms, 1),
        "targets": {"tokens_per_second_ratio": ">= 0.95", "ttft_delta_ms": "<= 30"},
        "pass": bool(ratio >= 0.95 and delta_ms <= 30 and same_text),
    })


if __name__ == "__main__":
    main()
