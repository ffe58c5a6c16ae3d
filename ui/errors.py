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
