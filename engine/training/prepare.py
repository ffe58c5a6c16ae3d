"""The rows a job trains on: the stored file, validated, encoded with the base's template, split for eval."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from engine.errors import LoragError
from engine.training.config import TrainingConfig
from engine.training.datasets import ERRORS_SHOWN, DatasetReport, DatasetStore
from engine.training.encoding import Encoded, Encoder, TemplatePlan
from engine.training.formats import RowProblem
from engine.training.records import RowError


@dataclass
class Prepared:
    train: list[Encoded]
    eval: list[Encoded]
    report: DatasetReport
    plan: TemplatePlan
    dropped: list[RowError] = field(default_factory=list)   # the first ones, by line
    dropped_count: int = 0
    tokens: int = 0              # of the training rows, as trained (cut at max length unless packing)
    trained_tokens: int = 0
    cut_rows: int = 0            # training rows whose trained tokens all lie beyond max length (trl drops them)

    @property
    def rows(self) -> int:
        return len(self.train) + len(self.eval)


def _refuse_bad_rows(count: int, errors: list[RowError]) -> None:
    shown = "; ".join(str(e) for e in errors[:5])
    raise LoragError(f"{count} row(s) have problems ({shown}{'; …' if count > 5 else ''}).",
                     hint="Fix the file, or tick 'Drop bad rows' to train without them.",
                     key="training.row_problems", hint_key="training.bad_rows_hint",
                     params={"count": count, "shown": shown, "more": '; …' if count > 5 else ''})


def split(items: list[Any], fraction: float, seed: int) -> tuple[list[Any], list[Any]]:
    if fraction <= 0 or len(items) < 2:
        return items, []
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    n_eval = min(len(items) - 1, max(1, round(fraction * len(items))))
    held = set(order[:n_eval])
    return [x for i, x in enumerate(items) if i not in held], [x for i, x in enumerate(items) if i in held]


def check_method(method: str, report: DatasetReport) -> None:
    """Preference rows train with DPO / ORPO only, and those methods need preference rows."""
    preference = report.format == "preference"
    if preference and method == "sft":
        raise LoragError(f"{report.filename} is preference data (chosen/rejected): DPO/ORPO train on it, supervised "
                         "fine-tuning does not.", hint="Set the method to dpo or orpo.",
                         key="training.preference_data", hint_key="training.preference_data_hint",
                         params={"filename": report.filename})
    if not preference and method != "sft":
        raise LoragError(f"{method.upper()} needs preference rows (a prompt with chosen and rejected answers); "
                         f"{report.filename} is {report.format_label}.", hint="Set the method to sft.",
                         key="training.needs_preference_rows", hint_key="training.needs_preference_rows_hint",
                         params={"method": method.upper(), "filename": report.filename, "format": report.format_label})


def prepare(config: TrainingConfig, datasets: DatasetStore, tokenizer: Any) -> Prepared:
    loaded = datasets.load(config.dataset, config.placeholders)
    check_method(config.method, loaded.report)
    encoder = Encoder(tokenizer, config.assistant_only)
    kinds = {e.kind for e in loaded.examples}
    for kind in kinds:
        encoder.check_format(kind)
    encoded: list[Encoded] = []
    encode_errors: list[RowError] = []
    for example in loaded.examples:
        try:
            encoded.append(encoder.encode(example))
        except RowProblem as exc:
            encode_errors.append(RowError(example.line, str(exc), example.row))
    count = loaded.report.error_count + len(encode_errors)
    first = sorted(loaded.report.errors + encode_errors[:ERRORS_SHOWN], key=lambda e: (e.row, e.line))[:ERRORS_SHOWN]
    if count and not config.drop_bad_rows:
        _refuse_bad_rows(count, first)
    if not encoded:
        raise LoragError("No usable rows are left to train on.", hint="Check the problems listed under the dataset.",
                         key="training.no_rows_left", hint_key="training.no_rows_left_hint")
    train, held_out = split(encoded, config.validation_split, config.seed)
    prepared = Prepared(train, held_out, loaded.report, encoder.plan, first, count)
    _count_trained(prepared, None if config.packing else config.max_length)
    return prepared


def _count_trained(prepared: Prepared, max_length: int | None) -> None:
    """The tokens the loss will really see; refuses a run where the max length cuts every trained token."""
    for row in prepared.train:
        kept = row.mask[:max_length] if max_length else row.mask
        prepared.tokens += min(len(row.input_ids), max_length or len(row.input_ids))
        prepared.trained_tokens += sum(kept)
        prepared.cut_rows += not any(kept)
    if prepared.cut_rows == len(prepared.train):
        longest = max(len(r.input_ids) for r in prepared.train)
        raise LoragError(f"Nothing would be trained: in every row the trained tokens (the answers) lie beyond the max "
                         f"length of {max_length} tokens.",
                         hint=f"Raise the max length (the longest row has {longest} tokens), or shorten the prompts.",
                         key="training.nothing_trained", hint_key="training.nothing_trained_hint",
                         params={"max_length": max_length, "longest": longest})
