"""Turn the engine's LoragError into a message on the page instead of a crash."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

import gradio as gr

from engine.errors import LoragError


def shows_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap an event handler: a LoragError becomes a gr.Error the person sees (nothing else changes)."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any):
            try:
                yield from fn(*args, **kwargs)
            except LoragError as exc:
                raise gr.Error(str(exc)) from None
        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LoragError as exc:
            raise gr.Error(str(exc)) from None
    return wrapper


def warns(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a form's handler: a LoragError becomes a warning toast and the page stays as it was. (gr.Error
    would also stamp an "Error" badge over every output, covering the form until each badge is closed.)
    The event then counts as a success: not for handlers that a `.success(...)` step follows. A generator
    keeps what it yielded last (make that say what happened)."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any):
            try:
                yield from fn(*args, **kwargs)
            except LoragError as exc:
                gr.Warning(str(exc))
                yield gr.skip()
        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LoragError as exc:
            gr.Warning(str(exc))
            return gr.skip()
    return wrapper
