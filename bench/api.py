"""A streamed chat completion through the OpenAI-compatible API against the engine called directly.

Ours: the official `openai` client streaming `/v1/chat/completions` over HTTP from the studio served exactly as
launch.py serves it (Gradio's server with the API mounted at /v1, in this process, on a free loopback port),
timed from the request to the last chunk. Baseline: `studio.models.stream_chat` on the same model object with
the same messages and settings (greedy, so both produce the same tokens), timed from the call to the done event.
Rounds alternate to share the machine's noise. tokens/s = completion tokens / seconds, per round; medians.

    python -m bench.api [--rounds 5] [--new-tokens 64] [--threads 1]

Target: API tokens/s >= 0.9 x direct (the HTTP, JSON and SSE layers cost little next to generation).
"""

from __future__ import annotations

import socket
import tempfile
import time
from pathlib import Path

from bench._common import demo_models_dir, emit, generation_args, median, say

MESSAGES = [{"role": "user", "content": "Write a short paragraph about the history of Paris."}]


def run_direct(studio, params) -> dict:
    started = time.perf_counter()
    first = done = None
    for event in studio.models.stream_chat(MESSAGES, params):
        if first is None and event.kind == "answer":
            first = time.perf_counter()
        if event.kind == "done":
            done = event
    total = time.perf_counter() - started
    tokens = done.stats.completion_tokens
    return {"seconds": total, "ttft": (first or started) - started, "tokens": tokens, "tps": tokens / total,
            "text": done.answer}


def run_api(client, model: str, new_tokens: int) -> dict:
    started = time.perf_counter()
    first = None
    pieces, tokens = [], 0
    stream = client.chat.completions.create(model=model, messages=MESSAGES, temperature=0, max_tokens=new_tokens,
                                            stream=True, stream_options={"include_usage": True})
    for chunk in stream:
        if chunk.usage is not None:
            tokens = chunk.usage.completion_tokens
        if chunk.choices and chunk.choices[0].delta.content:
            first = first or time.perf_counter()
            pieces.append(chunk.choices[0].delta.content)
    total = time.perf_counter() - started
    return {"seconds": total, "ttft": (first or started) - started, "tokens": tokens, "tps": tokens / total,
            "text": "".join(pieces).rstrip()}


def serve(studio):
    """The studio's page with the API mounted, as launch.py starts it (no login: loopback)."""
    from engine.api.mount import api_app_kwargs
    from ui.app import build_app, launch_options

    with socket.socket() as sock:                          # a free loopback port
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = build_app(studio)
    app.queue(default_concurrency_limit=4).launch(server_name="127.0.0.1", server_port=port, quiet=True,
                                                  prevent_thread_lock=True, app_kwargs=api_app_kwargs(studio),
                                                  **launch_options())
    return app


def main() -> None:
    args = generation_args(__doc__.splitlines()[0])

    import openai

    from engine.models.generation import GenerationParams
    from engine.settings import Settings
    from engine.studio import Studio

    models = demo_models_dir()
    with tempfile.TemporaryDirectory(prefix="lorag-bench-api-") as tmp:
        studio = Studio(Settings(data_dir=Path(tmp), no_weaviate=True, api=True, rate_limit=0))
        say("loading the demo model")
        current = studio.models.load(str(models / "SmolLM2-135M-Instruct"))
        params = GenerationParams.from_preset(current.generation_preset, temperature=0,
                                              max_new_tokens=args.new_tokens)
        app = serve(studio)
        say(f"serving at {app.local_url}")
        client = openai.OpenAI(api_key="none", base_url=app.local_url.rstrip("/") + "/v1", max_retries=0)
        try:
            run_direct(studio, params)                         # warm-up both paths
            run_api(client, current.name, args.new_tokens)
            direct, api = [], []
            for round_no in range(args.rounds):
                for name, runs, fn in (("direct", direct, lambda: run_direct(studio, params)),
                                       ("api", api, lambda: run_api(client, current.name, args.new_tokens)))[
                                           ::1 if round_no % 2 == 0 else -1]:
                    runs.append(fn())
                    say(f"round {round_no + 1} {name}: {runs[-1]['tps']:.1f} tok/s")
        finally:
            app.close()
            studio.close()
    same_text = all(a["text"] == d["text"] for a, d in zip(api, direct, strict=True))
    direct_tps, api_tps = median([r["tps"] for r in direct]), median([r["tps"] for r in api])
    emit({"benchmark": "api", "model": current.name, "new_tokens": args.new_tokens, "rounds": args.rounds,
          "threads": args.threads, "api_tokens_per_s": round(api_tps, 2), "direct_tokens_per_s": round(direct_tps, 2),
          "ratio": round(api_tps / direct_tps, 3) if direct_tps else None,
          "api_ttft_ms": round(median([r["ttft"] for r in api]) * 1000, 1),
          "direct_ttft_ms": round(median([r["ttft"] for r in direct]) * 1000, 1),
          "completion_tokens": median([r["tokens"] for r in api]), "same_text": same_text})


if __name__ == "__main__":
    main()
