"""The incremental decoder: whole characters only, even when generation stops inside one."""

from transformers import AutoTokenizer

from engine.models.streaming import IncrementalDecoder


def test_a_character_cut_by_max_tokens_is_not_shown_as_a_replacement_char(tiny_qwen3):
    tokenizer = AutoTokenizer.from_pretrained(tiny_qwen3)
    ids = tokenizer("Hey there! 𓀀", add_special_tokens=False)["input_ids"]
    emoji_ids = tokenizer("𓀀", add_special_tokens=False)["input_ids"]
    assert len(emoji_ids) > 1  # a hieroglyph is several byte-level tokens
    cut = ids[: len(ids) - len(emoji_ids) + 1]   # stop inside the character

    decoder = IncrementalDecoder(tokenizer)
    text = "".join(decoder.push([i]) for i in cut) + decoder.flush()
    assert text == "Hey there! "

    whole = IncrementalDecoder(tokenizer)
    assert "".join(whole.push([i]) for i in ids) + whole.flush() == "Hey there! 𓀀"
