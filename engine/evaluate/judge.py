"""An optional LLM judge: the loaded model (base, no adapter) or an OpenAI-compatible endpoint the person names
reads the question, the reference and an answer, and says yes or no. The prompt is shown in the tab and stored
with every verdict, so a person can see what was asked and disagree."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

from engine.errors import LoragError

# The engine.studio.Studio facade: an evaluation drives the models, adapters and collections together. Not
# imported, since the studio builds this service (no import cycle).
Studio = Any

LOADED = "loaded"
API_KEY_ENV = "LORAG_JUDGE_API_KEY"   # never stored with the run
PROMPT = ("You grade answers to questions.\nQuestion: {question}\nReference answer: {reference}\n"
          "Answer to grade: {answer}\n\nDoes the answer to grade say the same as the reference answer? "
          "Reply with one word: yes or no.")
TIMEOUT_S = 120


def judge_prompt(question: str, reference: str, answer: str) -> str:
    return PROMPT.format(question=question, reference=reference, answer=answer)


def verdict_of(reply: str) -> bool | None:
    """yes -> True, no -> False, anything else -> None (counted as no verdict, not as a fail)."""
    words = (reply or "").strip().lower().lstrip("*\"' ").split()
    first = words[0].strip(".,!:;*\"'") if words else ""
    return True if first == "yes" else False if first == "no" else None


def _ask_loaded(studio: "Studio", prompt: str) -> str:
    from engine.models.generation import GenerationParams

    params = GenerationParams(temperature=0.0, max_new_tokens=8)
    done = [e for e in studio.models.stream_chat([{"role": "user", "content": prompt}], params) if e.kind == "done"]
    return done[0].answer if done else ""


def _ask_endpoint(url: str, model: str, prompt: str) -> str:
    body = json.dumps({"model": model or "default", "temperature": 0, "max_tokens": 8,
                       "messages": [{"role": "user", "content": prompt}]}).encode()
    headers = {"Content-Type": "application/json"}
    if os.environ.get(API_KEY_ENV):
        headers["Authorization"] = f"Bearer {os.environ[API_KEY_ENV]}"
    request = urllib.request.Request(url.rstrip("/") + "/chat/completions", body, headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            data = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise LoragError(f"The judge at {url} did not answer: {exc}",
                         hint="Give the endpoint's base URL ending in /v1, or turn the judge off.",
                         key="evaluate.judge_no_answer", hint_key="evaluate.judge_no_answer_hint",
                         params={"url": url, "exc": exc}) from None
    try:
        return str(data["choices"][0]["message"]["content"] or "")
    except (KeyError, IndexError, TypeError):
        raise LoragError(f"The judge at {url} sent no chat completion.",
                         key="evaluate.judge_no_completion", params={"url": url}) from None


def judge(studio: "Studio", where: str, model: str, question: str, reference: str, answer: str) -> dict[str, Any]:
    prompt = judge_prompt(question, reference, answer)
    reply = _ask_loaded(studio, prompt) if where == LOADED else _ask_endpoint(where, model, prompt)
    return {"verdict": verdict_of(reply), "reply": reply, "prompt": prompt}
