"""Turn the engine's LoragError into a message on the page instead of a crash."""

from __future__ import annotations

import functools
import inspect
import re
from typing import Any, Callable

import gradio as gr

from engine.errors import LoragError, Phrase, Phrases
from ui.i18n import DEFAULT_LANGUAGE, catalogue, current_language, say


def shows_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap an event handler: a LoragError becomes a gr.Error the person sees (nothing else changes)."""
    return _catching(fn, _raise_error)


def warns(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a form's handler: a LoragError becomes a warning toast and the page stays as it was. (gr.Error
    would also stamp an "Error" badge over every output, covering the form until each badge is closed.)
    The event then counts as a success: not for handlers that a `.success(...)` step follows. A generator
    keeps what it yielded last (make that say what happened)."""
    return _catching(fn, _warn)


def person_message(exc: LoragError, language: str | None = None) -> str:
    """The error in `language` (default: this event's person's) when the catalogue has its key; else the
    engine's English text."""
    language = language or current_language()
    known = catalogue("en")
    params = {name: said(value, language) for name, value in exc.params.items()}
    message = _filled(f"error.{exc.key}", language, params) if f"error.{exc.key}" in known else exc.message
    hint = _filled(f"error.{exc.hint_key}", language, params) if f"error.{exc.hint_key}" in known else exc.hint
    return f"{message} {hint}".strip()


# The fixed lines the engine writes into a job's message (engine/jobs.py, training, merges, ingestion), said from the
# catalogue; any other line (a step counter, a file's stage) stays as written.
JOB_MESSAGES = {"Cancelled.": "cancelled", "Cancelling…": "cancelling", "queued": "queued",
                "The studio stopped while this job ran. Start it again to resume.": "studio_stopped",
                "The studio stopped while this merge ran. Start it again.": "studio_stopped_merge",
                "Cancelled before training started.": "cancelled_before_training",
                "Cancelled before it started.": "cancelled_before_start",
                "Cancelled (the process stopped while cancelling).": "cancelled_process_stopped",
                "Calibrating: loading the model…": "calibrating", "Loading the model…": "loading_model",
                "Starting: loading the model and the data…": "starting"}


def job_message(job: Any, language: str | None = None) -> str:
    """A job's one line in `language`: a failed job says its refusal in it, a fixed line of the engine (JOB_MESSAGES)
    its catalogue text (other lines stay as written)."""
    message = person_message(job.refusal(), language)
    if message != job.message:
        return message
    language = language or current_language()
    known = JOB_MESSAGES.get(message)
    return say(f"job.message.{known}", language) if known else _step_line(message, language)


# A training job's progress line (engine/training/callbacks.py): "Step 5/10 · loss 1.2345 · 120 tokens/s · ETA 1m".
STEP_PARTS = ((re.compile(r"^Step (?P<step>\d+)/(?P<max_steps>\S+)$"), "job.message.step"),
              (re.compile(r"^loss (?P<loss>\S+)$"), "job.message.loss"),
              (re.compile(r"^(?P<speed>\d+) tokens/s$"), "training.progress.speed"),
              (re.compile(r"^ETA (?P<eta>.+)$"), "training.progress.eta"))


def _step_line(message: str, language: str) -> str:
    parts = message.split(" · ")
    said_parts = []
    for part in parts:
        found = next(((key, m) for pattern, key in STEP_PARTS if (m := pattern.match(part))), None)
        if found is None:
            return message
        said_parts.append(say(found[0], language, **found[1].groupdict()))
    return " · ".join(said_parts) if STEP_PARTS[0][0].match(parts[0]) else message


def status_phrase(status: str) -> Phrase:
    """A job's status ("queued", "failed") as a part of a message: said in the person's language."""
    return Phrase(status, f"job.status.{status}")


def status_word(status: str, language: str | None = None) -> str:
    """A job's status as a table or a status line shows it, in `language` (default: this event's person's); a status
    the catalogue lacks as the engine wrote it."""
    return str(said(status_phrase(status), language))


def warn_limited(exc: LoragError) -> str:
    """Say a refusal (the rate limit) in a toast and return the line for the page: the person's text and chat stay
    as they are (an error would cover the chat with Gradio's error state)."""
    message = person_message(exc)
    gr.Warning(message)
    return f"⚠️ {message}"


def _filled(key: str, language: str, params: dict[str, Any]) -> str:
    """A message's text filled with its params: always a format string (a literal brace is written {{ }})."""
    return say(key, language).format(**params)


def said(value: Any, language: str | None = None) -> Any:
    """A Phrase (or joined Phrases) in `language` (default: this event's person's); English, and any other value,
    as the engine wrote it."""
    language = language or current_language()
    if language == DEFAULT_LANGUAGE or not isinstance(value, (Phrase, Phrases)):
        return value
    if isinstance(value, Phrase) and value.key not in catalogue(DEFAULT_LANGUAGE):
        return value
    if isinstance(value, Phrases):
        return value.separator.join(str(said(part, language)) for part in value.parts)
    return _filled(value.key, language, {name: said(v, language) for name, v in value.params.items()})


def _raise_error(exc: LoragError) -> Any:
    raise gr.Error(person_message(exc)) from None


def _warn(exc: LoragError) -> Any:
    gr.Warning(person_message(exc))
    return gr.skip()


def _catching(fn: Callable[..., Any], on_error: Callable[[LoragError], Any]) -> Callable[..., Any]:
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any):
            try:
                yield from fn(*args, **kwargs)
            except LoragError as exc:
                yield on_error(exc)
        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LoragError as exc:
            return on_error(exc)
    return wrapper
