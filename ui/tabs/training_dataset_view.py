"""What the Training tab says of an uploaded dataset (DatasetReport.summary() of engine.training.datasets) in the
person's language: the detected format, how many rows are usable, the placeholders. How the file was read (its
notes) and each row's problem stay as the engine writes them."""

from __future__ import annotations

from typing import Any

from ui.i18n import catalogue, say


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
