"""What one evaluation run answers: a set, a base model, and the matrix {adapters + none} x {collections + none}."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from engine.errors import LoragError

NONE_LABEL, NO_DOCUMENTS = "none", "no documents"


def option(default: Any, help_text: str) -> Any:
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": help_text})
    return field(default=default, metadata={"help": help_text})


@dataclass(frozen=True)
class Cell:
    adapter: str = ""      # "": the base model alone
    collection: str = ""   # "": no documents

    @property
    def key(self) -> str:
        return f"{self.adapter}|{self.collection}"

    @classmethod
    def of(cls, key: str) -> "Cell":
        adapter, _, collection = key.partition("|")
        return cls(adapter, collection)

    @property
    def label(self) -> str:
        return f"{self.adapter or NONE_LABEL} × {self.collection or NO_DOCUMENTS}"


@dataclass
class EvalConfig:
    set: str = option("", "sha256 of a stored evaluation set.")
    base_model: str = option("", "Base model to answer with (a folder or a model name); '' uses the loaded one.")
    adapters: list[str] = option([""], "Adapters to compare; '' stands for the base model alone.")
    collections: list[str] = option([""], "Collections to answer from; '' stands for no documents.")
    max_new_tokens: int = option(64, "Most tokens per answer.")
    temperature: float = option(0.0, "0 answers greedily (the same answer every run).")
    system: str = option("", "A system prompt for every question ('' for none).")
    judge: str = option("", "An LLM judge: '' none, 'loaded' the loaded model (base, no adapter), or the base URL "
                            "(.../v1) of an OpenAI-compatible endpoint (API key from LORAG_JUDGE_API_KEY).")
    judge_model: str = option("", "The model name sent to the judge endpoint.")
    retrieval_k: int = option(10, "How many chunks to rank for the retrieval scores (hit@1/5/10, MRR).")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EvalConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise LoragError(f"Unknown evaluation setting(s): {', '.join(unknown)}.",
                             hint=f"Known: {', '.join(sorted(known))}.",
                             key="evaluate.unknown_settings", hint_key="evaluate.unknown_settings_hint",
                             params={"unknown": ', '.join(unknown), "known": ', '.join(sorted(known))})
        config = cls(**data)
        config.adapters = [a or "" for a in (config.adapters or [""])]
        config.collections = [c or "" for c in (config.collections or [""])]
        return config.validate()

    def validate(self) -> "EvalConfig":
        if not self.set:
            raise LoragError("Pick an evaluation set first.", key="evaluate.pick_set")
        if not 1 <= int(self.max_new_tokens) <= 4096:
            raise LoragError("max_new_tokens must be between 1 and 4096.", key="evaluate.bad_max_new_tokens")
        if self.judge not in ("", "loaded") and not self.judge.startswith(("http://", "https://")):
            raise LoragError(f"The judge is 'loaded' or an http(s) URL, not {self.judge!r}.",
                             key="evaluate.bad_judge", params={"judge": self.judge})
        if self.temperature < 0:
            raise LoragError("temperature must be 0 (greedy) or more.", key="evaluate.bad_temperature")
        return self

    @classmethod
    def from_labels(cls, data: dict[str, Any]) -> "EvalConfig":
        """A config as a person writes it (the command line's YAML, the API's body): in the lists, `none` (or null)
        is the base model alone and `no documents` answers without a collection."""
        data = dict(data)
        if data.get("set") is not None:
            data["set"] = str(data["set"])   # YAML reads a hash of digits only as a number
        data["adapters"] = ["" if a in (None, NONE_LABEL) else str(a) for a in data.get("adapters") or [""]]
        data["collections"] = ["" if c in (None, NO_DOCUMENTS) else str(c) for c in data.get("collections") or [""]]
        return cls.from_dict(data)

    def cells(self) -> list[Cell]:
        adapters = list(dict.fromkeys(self.adapters))
        collections = list(dict.fromkeys(self.collections))
        return [Cell(a, c) for a in adapters for c in collections]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
