"""Preview and statistics: rows rendered through the base model's template with the trained tokens marked,
token-length statistics, and the rows the chosen max length would cut."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from engine.training.datasets import ERRORS_SHOWN
from engine.training.encoding import Encoded, Encoder
from engine.training.formats import Example, RowProblem, place
from engine.training.records import RowError

STATS_SAMPLE = 5000


@dataclass
class Segment:
    text: str
    trained: bool
    cut: bool = False   # beyond max length: never seen by the model


@dataclass
class PreviewRow:
    line: int
    tokens: int
    trained_tokens: int
    segments: list[Segment]
    row: int = 0    # position in a JSON array (0: JSON Lines)
    renamed: list[str] = field(default_factory=list)   # role names the file used, mapped ('gpt → assistant')
    rejected: list[Segment] = field(default_factory=list)   # preference rows: the rejected answer (`segments`: the
                                                            # prompt and the chosen answer)

    @property
    def place(self) -> str:
        return place(self.line, self.row)


@dataclass
class TokenStats:
    rows: int = 0
    min: int = 0
    median: float = 0.0
    p95: int = 0
    max: int = 0
    over_max_length: int = 0        # rows longer than max length (cut)
    lose_all_trained: int = 0       # rows whose trained tokens all lie beyond max length (dropped by trl)
    tokens: int = 0
    trained_tokens: int = 0
    sampled_from: int = 0           # > rows when the statistics come from a sample

    def summary(self, max_length: int) -> str:
        if not self.rows:
            return "No usable rows."
        text = (f"{self.rows} rows · tokens per row: min {self.min}, median {self.median:.0f}, p95 {self.p95}, "
                f"max {self.max} · {self.tokens} tokens, {self.trained_tokens} trained.\n"
                f"Max length {max_length} cuts {self.over_max_length} row(s)")
        if self.lose_all_trained:
            text += f"; {self.lose_all_trained} of them lose every trained token and are skipped"
        if self.sampled_from > self.rows:
            text += f" (statistics from the first {self.rows} of {self.sampled_from} rows)"
        return text + "."


@dataclass
class Analysis:
    note: str                                   # how the trained tokens are chosen (TemplatePlan.note)
    stats: TokenStats
    preview: list[PreviewRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)    # rows the template cannot render (first ERRORS_SHOWN)
    error_count: int = 0
    bad_lines: list[int] = field(default_factory=list)


def percentile(values: list[int], q: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def segments(tokenizer: Any, encoded: Encoded, max_length: int) -> list[Segment]:
    """Runs of tokens with the same (trained, cut) state, decoded to text."""
    out: list[Segment] = []
    start = 0
    ids, mask = encoded.input_ids, encoded.mask
    for i in range(1, len(ids) + 1):
        if i == len(ids) or (mask[i], i >= max_length) != (mask[start], start >= max_length):
            text = tokenizer.decode(ids[start:i], skip_special_tokens=False)
            out.append(Segment(text, bool(mask[start]), start >= max_length))
            start = i
    return out


PREFERENCE_NOTE = ("Preference rows: the prompt is context only; training makes the chosen answer (green) more "
                   "likely and the rejected one (red) less likely than the base model does.")


def _note(examples: list[Example], encoder: Encoder) -> str:
    if any(e.kind in ("preference", "preference_text") for e in examples[:1]):
        return PREFERENCE_NOTE
    if any(e.kind == "chat" for e in examples):
        return encoder.plan.note
    return "Raw text rows: no chat template; " + ("the loss is on the completion." if encoder.assistant_only
                                                  else "every token is trained.")


def _length(encoded: Encoded) -> int:
    return max(len(encoded.input_ids), len(encoded.rejected_ids or ()))


def _count(stats: TokenStats, encoded: Encoded, max_length: int) -> None:
    stats.tokens += _length(encoded)
    stats.trained_tokens += encoded.trained
    if _length(encoded) > max_length:
        stats.over_max_length += 1
        if not any(encoded.mask[:max_length]):
            stats.lose_all_trained += 1


def rejected_segments(tokenizer: Any, encoded: Encoded, max_length: int) -> list[Segment]:
    """The rejected answer of a preference row (its prompt is the chosen one's), cut where max length cuts it."""
    start, ids = encoded.prompt_length, encoded.rejected_ids or []
    kept, cut = ids[start:max(start, max_length)], ids[max(start, max_length):]
    return [Segment(tokenizer.decode(part, skip_special_tokens=False), True, is_cut)
            for part, is_cut in ((kept, False), (cut, True)) if part]


def _preview_row(example: Example, encoded: Encoded, encoder: Encoder, max_length: int) -> PreviewRow:
    rejected = rejected_segments(encoder.tokenizer, encoded, max_length) if encoded.rejected_ids is not None else []
    return PreviewRow(example.line, _length(encoded), encoded.trained, segments(encoder.tokenizer, encoded, max_length),
                      example.row, [m for m in example.mapping if "→" in m], rejected)


def analyze(examples: list[Example], encoder: Encoder, max_length: int, preview_rows: int = 3,
            sample: int = STATS_SAMPLE) -> Analysis:
    lengths: list[int] = []
    stats = TokenStats(sampled_from=len(examples))
    analysis = Analysis(_note(examples, encoder), stats)
    for example in examples[:sample]:
        try:
            encoded = encoder.encode(example)
        except RowProblem as exc:
            analysis.error_count += 1
            analysis.bad_lines.append(example.line)
            if len(analysis.errors) < ERRORS_SHOWN:
                analysis.errors.append(RowError(example.line, str(exc), example.row))
            continue
        lengths.append(_length(encoded))
        _count(stats, encoded, max_length)
        if len(analysis.preview) < preview_rows:
            analysis.preview.append(_preview_row(example, encoded, encoder, max_length))
    if lengths:
        stats.rows, stats.min, stats.max = len(lengths), min(lengths), max(lengths)
        stats.median, stats.p95 = statistics.median(lengths), percentile(lengths, 0.95)
    return analysis
