"""Helpers for the document (RAG) tests: a studio with its own managed Weaviate, waiting for jobs, and a
real chat model (SmolLM2 through transformers) as the `generate` callable answer_stream takes."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable, Iterator

from engine.settings import Settings
from engine.studio import Studio


def make_studio(data_dir: Path, **settings) -> Studio:
    """A real Studio over `data_dir` whose managed Weaviate starts on free loopback ports."""
    studio = Studio(Settings(data_dir=Path(data_dir), **settings))
    studio.start()
    return studio


def wait_job(studio: Studio, job_id: str, timeout: float = 300.0):
    job = studio.jobs.wait(job_id, timeout)
    assert not job.active, f"job {job_id} still {job.status} after {timeout} s: {job.message}"
    return job


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(every)
    raise TimeoutError("condition not reached")


def files_by_name(job) -> dict[str, dict]:
    return {f["name"]: f for f in job.result["files"]}


class TransformersChat:
    """generate(messages) -> text pieces, streamed from a real causal LM with its own chat template."""

    def __init__(self, model_dir: Path, max_new_tokens: int = 60) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir)
        self.model.eval()
        self.max_new_tokens = max_new_tokens
        self.calls = 0

    def __call__(self, messages: list[dict]) -> Iterator[str]:
        from transformers import TextIteratorStreamer

        self.calls += 1
        inputs = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                    return_dict=True)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        kwargs = dict(**inputs, streamer=streamer, max_new_tokens=self.max_new_tokens, do_sample=False)
        thread = threading.Thread(target=self.model.generate, kwargs=kwargs, daemon=True)
        thread.start()
        yield from streamer
        thread.join()
