"""The pieces between `model.generate` running in a thread and the text a person sees appear.

- `TokenQueue`: a transformers streamer that hands each new token id to the consumer through a queue
  (the generating thread never decodes, so streaming costs it nothing measurable).
- `IncrementalDecoder`: turns token ids into text deltas without re-decoding the whole reply each time
  and without cutting a multi-byte character in half.
- `StopOnEvent`: a stopping criterion that ends `generate` at the next token when an Event is set (Stop button).
- `Generation`: one streamed generation of ModelService, from its turn on the model to the "done" event.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from transformers import StoppingCriteria, StoppingCriteriaList
from transformers.generation.streamers import BaseStreamer

from engine.errors import LoragError
from engine.models.generation import GenerationParams, GenerationStats, QueuePlace, StreamEvent
from engine.models.state import Loaded
from engine.models.thinking import ReasoningSplitter, prompt_opens_reasoning

END = object()
QUEUE_POLL_S = 0.5  # how often a waiting request looks at its place in the line
# ModelService.generation_turn: the model with the adapter resident, held for one generation (None: stopped first).
Turn = Callable[[str | None, threading.Event], AbstractContextManager[Loaded | None]]


class TokenQueue(BaseStreamer):
    """Receives generated token ids from `generate` (first call: the prompt, skipped)."""

    def __init__(self) -> None:
        self.queue: queue.Queue = queue.Queue()
        self._prompt_seen = False
        self.first_token_at: float | None = None

    def put(self, value: Any) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        self.queue.put(value.reshape(-1).tolist())

    def end(self) -> None:
        self.queue.put(END)

    def fail(self, exc: BaseException) -> None:
        self.queue.put(exc)


class IncrementalDecoder:
    """Token ids in, new text out. Decodes only a short window (the prefix/read offsets technique)."""

    def __init__(self, tokenizer: Any, skip_special_tokens: bool = True) -> None:
        self.tokenizer = tokenizer
        self.skip_special_tokens = skip_special_tokens
        self.ids: list[int] = []
        self._prefix = 0
        self._read = 0

    def push(self, new_ids: list[int]) -> str:
        self.ids.extend(new_ids)
        decode = self.tokenizer.decode
        before = decode(self.ids[self._prefix:self._read], skip_special_tokens=self.skip_special_tokens)
        after = decode(self.ids[self._prefix:], skip_special_tokens=self.skip_special_tokens)
        if len(after) > len(before) and not after.endswith("\ufffd"):
            self._prefix, self._read = self._read, len(self.ids)
            return after[len(before):]
        return ""

    def flush(self) -> str:
        """Whatever is still held back at the end, without a character cut in half by max tokens (its bytes
        alone decode to U+FFFD, which only looks like a broken file to a person)."""
        decode = self.tokenizer.decode
        before = decode(self.ids[self._prefix:self._read], skip_special_tokens=self.skip_special_tokens)
        after = decode(self.ids[self._prefix:], skip_special_tokens=self.skip_special_tokens)
        self._prefix = self._read = len(self.ids)
        return after[len(before):].rstrip("\ufffd")


class StopOnEvent(StoppingCriteria):
    """Ends generation once `event` is set (checked after every token)."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids, scores, **kwargs):  # noqa: ANN001 - transformers' signature
        import torch

        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


@dataclass
class _Header:
    """What the worker tells the consumer once it holds the model and has tokenized the prompt."""

    tokenizer: Any
    model_name: str
    prompt: str
    prompt_tokens: int
    eos_ids: set[int]
    started: float


class Generation:
    """One streamed generation.

    A worker thread waits for the model's turn (`turn(adapter, stop_event)`, ModelService.generation_turn: one
    generation at a time, the adapter resident; None when stopped while waiting), renders and tokenizes the
    prompt and runs `generate`, which hands token ids to a queue. The consumer (the caller's generator) decodes
    them and splits reasoning from answer. The turn belongs to the worker, so a consumer that stops reading
    never blocks the model: it sets the stop event and the worker ends at the next token.
    """

    def __init__(self, turn: Turn, params: GenerationParams, adapter: str | None, prompt_for: Any,
                 chat: bool, stop_event: threading.Event, continuing: bool = False,
                 place: Callable[[], QueuePlace] | None = None) -> None:
        self.turn, self.params, self.adapter = turn, params, adapter
        self.prompt_for, self.chat, self.stop_event = prompt_for, chat, stop_event
        self.continuing = continuing
        self.place = place  # where the request stands while it waits: "queued" events (None: none are sent)
        self._last_place: tuple[int, int] | None = None
        self.seed = params.seed if params.seed >= 0 else random.randrange(2**31)

    # --- worker thread ----------------------------------------------------------------------------------
    def _work(self, streamer: Any) -> None:
        import torch

        try:
            with self.turn(self.adapter, self.stop_event) as loaded:
                if loaded is None:
                    streamer.end()
                    return
                started = time.perf_counter()
                prompt, raw = self.prompt_for(loaded)
                inputs = loaded.tokenizer(prompt, return_tensors="pt", add_special_tokens=raw)
                special = special_ids(loaded, self.chat)
                streamer.queue.put(_Header(loaded.tokenizer, loaded.info.name, prompt,
                                           int(inputs["input_ids"].shape[1]), set(special["eos_token_id"]), started))
                kwargs = {**self.params.generate_kwargs(), **special, "streamer": streamer,
                          "stopping_criteria": _criteria(StopOnEvent(self.stop_event))}
                with loaded.host.use(self.adapter) as model:
                    device = next(model.parameters()).device
                    torch.manual_seed(self.seed)
                    with torch.inference_mode():
                        model.generate(**{k: v.to(device) for k, v in inputs.items()}, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            streamer.fail(exc)
            return
        streamer.end()

    # --- consumer ---------------------------------------------------------------------------------------
    def run(self) -> Iterator[StreamEvent]:
        streamer = TokenQueue()
        worker = threading.Thread(target=self._work, args=(streamer,), name="lorag-generate", daemon=True)
        worker.start()
        header: _Header | None = None
        decoder = splitter = None
        answer: list[str] = []
        reasoning: list[str] = []
        ids: list[int] = []
        first_at = None
        finish = ""
        while True:
            item = self._next_item(streamer) if header is None and self.place is not None else streamer.queue.get()
            if isinstance(item, QueuePlace):
                yield StreamEvent("queued", queue=item)
                continue
            if item is END:
                break
            if isinstance(item, BaseException):
                raise _generation_error(item)
            if isinstance(item, _Header):
                header = item
                decoder = IncrementalDecoder(header.tokenizer)
                splitter = None
                if self.chat:
                    splitter = ReasoningSplitter(prompt_opens_reasoning(header.prompt), continuing=self.continuing)
                continue
            if first_at is None:
                first_at = time.perf_counter()
            ids.extend(item)
            yield from self._pieces(splitter, decoder.push(item), answer, reasoning)
            if self._hit_stop_string(answer):
                finish = "stop_string"
                self.stop_event.set()
                break
        if header is None:  # stopped before it started
            yield StreamEvent("done", stats=GenerationStats(finish_reason="stopped", adapter=self.adapter or "",
                                                             seed=self.seed))
            return
        if finish != "stop_string":
            yield from self._pieces(splitter, decoder.flush(), answer, reasoning, final=True)
        elif splitter is not None:
            yield from self._pieces(splitter, "", answer, reasoning, final=True)
        yield self._done(header, ids, first_at, finish, answer, reasoning)

    def _next_item(self, streamer: TokenQueue) -> Any:
        """The worker's next item; while the request waits for its turn, its place in the line when that
        changed (every QUEUE_POLL_S)."""
        while True:
            try:
                return streamer.queue.get(timeout=QUEUE_POLL_S)
            except queue.Empty:
                place = self.place()
                if place.ahead > 0 and (place.ahead, place.length) != self._last_place:
                    self._last_place = (place.ahead, place.length)
                    return place

    def _done(self, header: _Header, ids: list[int], first_at: float | None, finish: str, answer: list[str],
              reasoning: list[str]) -> StreamEvent:
        seconds = time.perf_counter() - header.started
        count = len(ids)
        if not finish:
            if self.stop_event.is_set():
                finish = "stopped"
            elif ids and ids[-1] in header.eos_ids:
                finish = "eos"
            else:
                finish = "length" if count >= self.params.max_new_tokens else "eos"
        text, thought = "".join(answer), "".join(reasoning)
        if finish == "stop_string":
            text = _cut_at_stop(text, self.params.stop)
        stats = GenerationStats(
            prompt_tokens=header.prompt_tokens, completion_tokens=count, seconds=seconds,
            time_to_first_token=(first_at - header.started) if first_at else seconds,
            tokens_per_second=count / seconds if seconds > 0 else 0.0, finish_reason=finish,
            adapter=self.adapter or "", model=header.model_name, seed=self.seed)
        if self.chat:
            text = text.rstrip()
        return StreamEvent("done", "", text, thought.strip(), stats, prompt=header.prompt)

    @staticmethod
    def _pieces(splitter: ReasoningSplitter | None, text: str, answer: list[str], reasoning: list[str],
                final: bool = False) -> Iterator[StreamEvent]:
        if splitter is None:
            pieces = [("answer", text)] if text else []
        else:
            parts = splitter.feed(text) + (splitter.finish() if final else [])
            pieces = [(p.kind, p.text) for p in parts]
        for kind, delta in pieces:
            (reasoning if kind == "reasoning" else answer).append(delta)
            yield StreamEvent(kind, delta, "".join(answer), "".join(reasoning))

    def _hit_stop_string(self, answer: list[str]) -> bool:
        # Matched on the decoded answer, so a stop string spanning several tokens is caught too.
        if not self.params.stop:
            return False
        tail = "".join(answer[-50:])
        return any(stop in tail for stop in self.params.stop)


def special_ids(loaded: Loaded, chat: bool) -> dict[str, Any]:
    """eos (the model's, the tokenizer's, and ChatML's end of turn when chatting) and a pad id."""
    tokenizer, config = loaded.tokenizer, loaded.model.generation_config
    eos = config.eos_token_id
    eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    if tokenizer.eos_token_id is not None:
        eos_ids.add(tokenizer.eos_token_id)
    if chat:
        end_of_turn = tokenizer.convert_tokens_to_ids("<|im_end|>")
        if isinstance(end_of_turn, int) and end_of_turn != tokenizer.unk_token_id:
            eos_ids.add(end_of_turn)
    pad = config.pad_token_id
    if pad is None:
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else min(eos_ids, default=0)
    return {"eos_token_id": sorted(eos_ids), "pad_token_id": pad}




def _criteria(*items: Any) -> StoppingCriteriaList:
    return StoppingCriteriaList(list(items))


def _cut_at_stop(text: str, stops: list[str]) -> str:
    cuts = [text.find(s) for s in stops if s and s in text]
    return text[:min(cuts)] if cuts else text


def _generation_error(exc: BaseException) -> Exception:
    name = type(exc).__name__
    if name == "OutOfMemoryError" or isinstance(exc, MemoryError):
        return LoragError("Out of memory while generating.", hint="Lower max new tokens or use a smaller model.",
                          key="chat.out_of_memory", hint_key="chat.out_of_memory_hint")
    return LoragError(f"Generation failed: {exc}", key="chat.generation_failed", params={"exc": exc})
