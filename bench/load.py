"""Many people at once against the real studio with SmolLM2: does everyone get an answer, how long do they wait,
and is the wait fair?

    python -m bench.load [--api-people 4] [--page-people 2] [--seconds 90] [--new-tokens 16] [--threads 1]

The studio is served as launch.py serves it (Gradio's server with the API at /v1, on a free loopback port). Each
simulated person asks, waits for the whole answer, and asks again until the time is up:
- API people: the official `openai` client streaming `/v1/chat/completions` over HTTP;
- page people: the call the Chat tab's send makes (`studio.models.stream_chat`, in this process; Gradio's own
  queue in front of it is not simulated).
Printed: p50/p95 time to the first token and to the end, per kind; errors (target: zero); the longest wait for a
first token of any one person against the average (fairness: one model serves everybody in arrival order, so no
one should wait much longer than the rest); this process's resident memory at the start and the end.

The baseline, in the same run and the same studio: the same people with the model's line replaced by a plain
`threading.Lock` (what ModelService had before `engine/models/turns`: any waiter may win, nobody knows their place).
`--lines turns` skips it.
"""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path

from bench._common import demo_models_dir, emit, say, setup_torch
from engine.models.turns import Turns

QUESTIONS = ["What is the capital of France?", "Name three colours.", "What is two plus two?",
             "Say hello in Spanish.", "What do bees make?"]


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def api_turn(client, model: str, question: str, new_tokens: int) -> tuple[float, float]:
    started, first = time.perf_counter(), None
    stream = client.chat.completions.create(model=model, messages=[{"role": "user", "content": question}],
                                            temperature=0, max_tokens=new_tokens, stream=True)
    for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter()
    end = time.perf_counter()
    return (first or end) - started, end - started


def page_turn(studio, params, question: str) -> tuple[float, float]:
    started, first = time.perf_counter(), None
    for event in studio.models.stream_chat([{"role": "user", "content": question}], params):
        if first is None and event.kind == "answer" and event.delta:
            first = time.perf_counter()
    end = time.perf_counter()
    return (first or end) - started, end - started


def person(name: str, turn, until: float, out: dict) -> None:
    record = out.setdefault(name, {"ttft": [], "total": [], "errors": []})
    number = 0
    while time.perf_counter() < until:
        try:
            ttft, total = turn(QUESTIONS[number % len(QUESTIONS)])
            record["ttft"].append(ttft)
            record["total"].append(total)
        except Exception as exc:  # noqa: BLE001 - counted, the run goes on
            record["errors"].append(f"{type(exc).__name__}: {exc}")
        number += 1


def summary(records: dict, kind: str) -> dict:
    ttft = [v for name, r in records.items() if name.startswith(kind) for v in r["ttft"]]
    total = [v for name, r in records.items() if name.startswith(kind) for v in r["total"]]
    ms = lambda value: None if value is None else round(value * 1000)  # noqa: E731
    return {"answers": len(total), "ttft_p50_ms": ms(percentile(ttft, 0.5)), "ttft_p95_ms": ms(percentile(ttft, 0.95)),
            "end_p50_ms": ms(percentile(total, 0.5)), "end_p95_ms": ms(percentile(total, 0.95))}


class PlainLockLine(Turns):
    """The baseline: the model's line as a plain Lock. Places are still answered (so the same code runs), but the
    turn goes to whichever waiter the lock wakes, not to the one that came first."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def _wait(self, ticket, cancelled) -> bool:
        with self._changed:
            self._line.append(ticket)
        while not self._lock.acquire(timeout=0.25):
            if cancelled is not None and cancelled.is_set():
                with self._changed:
                    self._line.remove(ticket)
                return False
        with self._changed:
            self._line.remove(ticket)
            self._line.insert(0, ticket)
        return True

    def _leave(self, ticket, held_s: float) -> None:
        super()._leave(ticket, held_s)
        self._lock.release()


LINES = {"turns": Turns, "plain-lock": PlainLockLine}


def run_people(studio, model: str, url: str, params, args) -> dict:
    """Every simulated person for `args.seconds`; each one's first-token and end times and errors."""
    import openai

    records: dict = {}
    until = time.perf_counter() + args.seconds
    people = [threading.Thread(target=person, args=(f"api-{n}", lambda q, c=openai.OpenAI(
                  api_key="none", base_url=url, max_retries=0, timeout=600): api_turn(c, model, q, args.new_tokens),
                                                    until, records)) for n in range(args.api_people)]
    people += [threading.Thread(target=person, args=(f"page-{n}", lambda q: page_turn(studio, params, q),
                                                     until, records)) for n in range(args.page_people)]
    for thread in people:
        thread.start()
    for thread in people:
        thread.join()
    return records


def result_of(records: dict) -> dict:
    waits = [v for r in records.values() for v in r["ttft"]]
    longest = max((max(r["ttft"]) for r in records.values() if r["ttft"]), default=None)
    mean = sum(waits) / len(waits) if waits else None
    return {"api": summary(records, "api"), "page": summary(records, "page"),
            "errors": sum(len(r["errors"]) for r in records.values()),
            "error_samples": [e for r in records.values() for e in r["errors"]][:5],
            "answers_per_person": {name: len(r["total"]) for name, r in records.items()},
            "longest_first_token_wait_ms": None if longest is None else round(longest * 1000),
            "mean_first_token_wait_ms": None if mean is None else round(mean * 1000),
            "longest_over_mean": None if not mean else round(longest / mean, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-people", type=int, default=4)
    parser.add_argument("--page-people", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=90.0, help="per line")
    parser.add_argument("--new-tokens", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--lines", nargs="+", choices=sorted(LINES), default=["turns", "plain-lock"])
    args = parser.parse_args()
    setup_torch(args.threads)

    import tempfile

    from bench.api import serve
    from engine.models.generation import GenerationParams
    from engine.settings import Settings
    from engine.studio import Studio

    runs: dict = {}
    with tempfile.TemporaryDirectory(prefix="lorag-bench-load-") as tmp:
        studio = Studio(Settings(data_dir=Path(tmp), no_weaviate=True, api=True, rate_limit=0))
        current = studio.models.load(str(demo_models_dir() / "SmolLM2-135M-Instruct"))
        params = GenerationParams.from_preset(current.generation_preset, temperature=0,
                                              max_new_tokens=args.new_tokens)
        app = serve(studio)
        url = app.local_url.rstrip("/") + "/v1"
        start_mb = resident_mb()
        try:
            for line in args.lines:
                studio.models._turns = LINES[line]()   # the bench swaps the line; nothing else may
                say(f"{args.api_people + args.page_people} people for {args.seconds:.0f} s at {url}, line: {line}")
                runs[line] = result_of(run_people(studio, current.name, url, params, args))
        finally:
            app.close()
            end_mb = resident_mb()
            studio.close()
    emit({"benchmark": "load", "model": current.name, "api_people": args.api_people,
          "page_people": args.page_people, "seconds_per_line": args.seconds, "new_tokens": args.new_tokens,
          "threads": args.threads, **runs.get("turns", {}), "baseline_plain_lock": runs.get("plain-lock"),
          "resident_mb_start": round(start_mb), "resident_mb_end": round(end_mb)})


if __name__ == "__main__":
    main()
