"""LoRA adapters hot-swapped on one clean base model, through peft's PeftModel API.

The base model is never merged into or reloaded: the first adapter wraps it in a PeftModel
(`PeftModel.from_pretrained`), later ones are added with `load_adapter`, the active one is chosen with
`set_adapter(name, inference_mode=True)`, and "none" runs with the adapter layers disabled
(`disable_adapter_layers`, what `PeftModel.disable_adapter()` does), where every LoRA layer returns its base
layer's output untouched (so "none" equals the base exactly). Several adapters stay resident
(least recently used ones are evicted past `max_resident`). peft breaks the model when its last adapter is
deleted, so removing the last one unwraps the model with `unload()` instead, which gives the base back intact.

Not thread-safe on its own: ModelService calls it under its generation lock.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from engine.adapters.files import WEIGHTS_FILE
from engine.errors import LoragError

log = logging.getLogger(__name__)

DEFAULT_MAX_RESIDENT = 4


@dataclass
class Resident:
    name: str
    key: str            # the name inside peft (peft forbids '.' in adapter names; ours allow it)
    folder: Path
    stamp: float        # mtime of the weights when loaded: a retrained adapter is reloaded
    load_seconds: float


class AdapterHost:
    """The adapters resident on one loaded base model."""

    def __init__(self, base_model: Any, max_resident: int = DEFAULT_MAX_RESIDENT) -> None:
        self.base = base_model
        self.peft: Any = None
        self.max_resident = max(1, max_resident)
        self._resident: OrderedDict[str, Resident] = OrderedDict()
        self._counter = 0
        self._layers: list[Any] | None = None   # the LoRA layers, found once per set of resident adapters
        self._primed: set[str] = set()          # adapters activated once through peft's own set_adapter

    @property
    def model(self) -> Any:
        """What generation runs on: the PeftModel once an adapter is resident, else the base."""
        return self.peft if self.peft is not None else self.base

    def resident(self) -> list[str]:
        return list(self._resident)

    def ensure(self, name: str, folder: Path) -> float:
        """Make `name` resident (loaded from `folder` if needed); returns the seconds spent loading (0: resident)."""
        folder = Path(folder)
        stamp = _stamp(folder)
        current = self._resident.get(name)
        if current is not None and current.stamp == stamp and current.folder == folder:
            self._resident.move_to_end(name)
            return 0.0
        if current is not None:
            self.remove(name)
        self._evict(keep=self.max_resident - 1)
        self._counter += 1
        key = f"lorag_{self._counter}"
        started = time.perf_counter()
        self._load(key, folder)
        seconds = time.perf_counter() - started
        self._resident[name] = Resident(name, key, folder, stamp, seconds)
        log.info("adapter %s loaded in %.2f s (%d resident)", name, seconds, len(self._resident))
        return seconds

    def _load(self, key: str, folder: Path) -> None:
        if self.peft is None:
            from peft import PeftModel

            self.peft = PeftModel.from_pretrained(self.base, str(folder), adapter_name=key, is_trainable=False,
                                                  low_cpu_mem_usage=True)
        else:
            # low_cpu_mem_usage: the LoRA matrices are created empty and filled from the file, not initialised first
            self.peft.load_adapter(str(folder), adapter_name=key, is_trainable=False, low_cpu_mem_usage=True)
        self.peft.eval()
        self._layers = None

    def remove(self, name: str) -> bool:
        """Drop `name` from memory; the base keeps working (the last one unwraps the model)."""
        resident = self._resident.pop(name, None)
        if resident is None:
            return False
        self._layers = None
        self._primed.discard(resident.key)
        if not self._resident:
            self.base = self.peft.unload()
            self.peft = None
        else:
            if self.peft.active_adapter == resident.key:
                self.peft.set_adapter(next(iter(self._resident.values())).key, inference_mode=True)
            self.peft.delete_adapter(resident.key)
        return True

    def clear(self) -> None:
        for name in list(self._resident):
            self.remove(name)

    def _evict(self, keep: int) -> None:
        while len(self._resident) > keep:
            oldest = next(iter(self._resident))
            log.info("evicting adapter %s (more than %d resident)", oldest, self.max_resident)
            self.remove(oldest)

    @contextmanager
    def use(self, name: str | None) -> Iterator[Any]:
        """The model to run with adapter `name` active, or with no adapter at all when `name` is None."""
        if name is None:
            if self.peft is None:
                yield self.base
                return
            with self._disabled():
                yield self.peft
            return
        resident = self._resident.get(name)
        if resident is None:
            raise LoragError(f"The adapter {name!r} is not loaded.", key="adapters.not_loaded", params={"name": name})
        self._resident.move_to_end(name)
        self._activate(resident.key)
        yield self.peft

    @contextmanager
    def _disabled(self) -> Iterator[None]:
        """Every LoRA layer returns its base layer's output. LoraModel's disable/enable_adapter_layers walk the model
        and reset requires_grad (~24 ms on SmolLM2; PeftModel.disable_adapter() adds a layer survey, ~100 ms); the
        adapters here are frozen already, so flipping each layer's flag gives the same forward (and leaves
        requires_grad off, where peft's enable would turn it on for the active adapter, which inference never needs)."""
        layers = self._tuner_layers()
        tuner = self.peft.base_model
        if layers is None:
            tuner.disable_adapter_layers()
        else:
            for layer in layers:
                layer._disable_adapters = True
        try:
            yield
        finally:
            if layers is None:
                tuner.enable_adapter_layers()
            else:
                for layer in layers:
                    layer._disable_adapters = False

    def _activate(self, key: str) -> None:
        """peft's set_adapter(key, inference_mode=True), fast. peft walks every module of the model twice and resets
        requires_grad on every LoRA matrix at each switch (~17 ms on SmolLM2's 210 LoRA layers); once an adapter has
        been frozen by that walk, a switch only has to name the active adapter on each LoRA layer, which is the
        state peft's walk ends in. Models with modules_to_save keep peft's own path."""
        layers = self._tuner_layers()
        if layers is None or key not in self._primed:
            self.peft.set_adapter(key, inference_mode=True)
            self._primed.add(key)
            return
        for layer in layers:
            layer._active_adapter = [key]
        self.peft.base_model.active_adapter = key
        self.peft.active_adapter = key

    def _tuner_layers(self) -> list[Any] | None:
        """The LoRA layers of the model (None when it has auxiliary modules_to_save wrappers)."""
        if self._layers is None:
            from peft.tuners.tuners_utils import BaseTunerLayer
            from peft.utils.other import AuxiliaryTrainingWrapper

            modules = list(self.peft.modules())
            if any(isinstance(m, AuxiliaryTrainingWrapper) for m in modules):
                return None
            self._layers = [m for m in modules if isinstance(m, BaseTunerLayer)]
        return self._layers


def _stamp(folder: Path) -> float:
    weights = Path(folder) / WEIGHTS_FILE
    try:
        return weights.stat().st_mtime
    except FileNotFoundError:
        raise LoragError(f"The adapter folder {folder} has no {WEIGHTS_FILE}.",
                         key="adapters.folder_no_weights", params={"folder": folder, "weights": WEIGHTS_FILE}) from None
