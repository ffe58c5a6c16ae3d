"""What the Training tab says of an uploaded dataset (DatasetReport.summary() of engine.training.datasets) and of
the LoRA a config puts on the base (LoraPlan.summary()), in the person's language: the detected format, how many rows
are usable, the placeholders; the modules, parameters and memory. How the file was read (its notes), each row's
problem and the plan's note stay as the engine writes them."""

from __future__ import annotations

from typing import Any

from engine.models.fit import GB
from ui.i18n import catalogue, say
from ui.tabs.models_memory import mode_label


def format_words(report: Any) -> tuple[str, str]:
    """The detected format's label and description (the engine's English for a format the catalogue lacks)."""
    key = f"training.format.{report.format}"
    if f"{key}.label" not in catalogue("en"):
        return report.format_label, report.format_description
    return say(f"{key}.label"), say(f"{key}.description")


def dataset_text(report: Any) -> str:
    """DatasetReport.summary()."""
    label, description = format_words(report)
    paragraphs = [say("training.dataset.detected", filename=report.filename, label=label, description=description),
                  *report.notes, say("training.dataset.usable", valid=report.valid, records=report.records)]
    if report.error_count:
        shown = (" " + say("training.dataset.first_shown", count=len(report.errors))
                 if report.error_count > len(report.errors) else "")
        paragraphs.append(say("training.dataset.problems", count=report.error_count, shown=shown) + "\n"
                          + "\n".join(f"- {err}" for err in report.errors))
    if report.placeholders:
        names = ", ".join("{{" + p + "}}" for p in report.placeholders)
        paragraphs.append(say("training.dataset.placeholders", names=names))
    return "\n\n".join(paragraphs)


def lora_plan_text(plan: Any) -> str:
    """LoraPlan.summary()."""
    kinds = ", ".join(f"{name} ×{count}" for name, count in sorted(plan.modules.items()))
    layers = ", ".join(f"{count} {kind.replace('_', ' ')}" for kind, count in sorted(plan.layer_types.items()))
    text = say("training.lora_plan", count=sum(plan.modules.values()), kinds=kinds, trainable=f"{plan.trainable:,}",
               percent=f"{100 * plan.trainable / max(1, plan.total):.2f}", total=f"{plan.total / 1e9:.2f}")
    if layers:
        text += " " + say("training.lora_plan_layers", layers=layers)
    if plan.memory:
        lines = "; ".join(say("training.lora_plan_memory_line", mode=mode_label(k), gb=f"{v / GB:.1f}")
                          for k, v in plan.memory.items())
        text += " " + say("training.lora_plan_memory", lines=lines)
    return f"{text} {plan.note}".strip()
