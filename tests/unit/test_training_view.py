"""The Training tab's HTML pieces: the loss curve, the marked preview, the placeholder field."""

from __future__ import annotations

import pytest

from engine.errors import LoragError
from engine.training.preview import Analysis, PreviewRow, Segment, TokenStats
from ui.tabs.training import parse_placeholders, suggest_adapter_name
from ui.tabs.training_view import loss_curve_svg, preview_html


def test_loss_curve_has_one_point_per_logged_value():
    svg = loss_curve_svg([(1, 2.5), (2, 2.0), (3, 1.2)], [(3, 1.5)])
    assert "data-train-points='3'" in svg and "data-eval-points='1'" in svg
    assert svg.count("class='train-point'") == 3 and svg.count("class='eval-point'") == 1
    assert "<polyline" in svg and "eval loss" in svg
    assert "data-train-points='0'" in loss_curve_svg([], [])
    long = loss_curve_svg([(i, 1 / i) for i in range(1, 5001)], [])
    assert "data-train-points='5000'" in long and "train-point" not in long.split("data-eval")[1]
    assert len(long) < 40_000  # drawn from a thinned series, not 5000 markers
    flat = loss_curve_svg([(1, 11.9391), (2, 11.9390)], [])
    assert flat.count("11.939") >= 2  # ticks stay readable on a nearly flat curve


def test_preview_marks_trained_tokens_and_escapes_html():
    row = PreviewRow(3, 5, 2, [Segment("<|im_start|>user\n<b>hi</b>", False), Segment("yes<|im_end|>", True),
                               Segment("cut", False, cut=True)])
    html = preview_html(Analysis("note", TokenStats(), [row]))
    assert "<mark class='lorag-trained'" in html and "&lt;b&gt;hi&lt;/b&gt;" in html and "<s " in html
    assert "Line 3" in html


def test_placeholder_field():
    assert parse_placeholders("name=Lorag, author = Me\n{{team}}=X") == {"name": "Lorag", "author": "Me",
                                                                      "team": "X"}
    assert parse_placeholders("") == {}
    with pytest.raises(LoragError, match="no '='"):
        parse_placeholders("Lorag")


def test_adapter_name_suggestion_is_a_valid_name():
    from engine.safety import validate_name

    for filename, expected in (("identity.json", "identity-lora"), ("my data (v2).jsonl", "my-data-v2-lora"),
                               ("...json", "adapter-lora")):
        assert suggest_adapter_name(filename) == expected
        validate_name(expected)
