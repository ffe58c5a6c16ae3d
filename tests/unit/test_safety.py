"""Names and paths from people stay inside the data folder."""

import pytest

from engine.errors import LoragError
from engine.safety import inside, safe_filename, validate_name


@pytest.mark.parametrize("name", ["my-adapter", "qwen3_0.6b-lora", "A1", "x" * 64])
def test_good_names_pass(name):
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["", " ", "../etc", "a/b", "/abs", "..", ".hidden", "a\x00b", "tab\tname",
                                  "x" * 65, "a..b", "name with space", "ünïcode"])
def test_bad_names_are_refused(name):
    with pytest.raises(LoragError):
        validate_name(name, "adapter name")


@pytest.mark.parametrize("raw, clean", [
    ("report.pdf", "report.pdf"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\me\\thesis.pdf", "thesis.pdf"),
    ("/abs/path/file.txt", "file.txt"),
    ("bad\x07name.pdf", "badname.pdf"),
])
def test_safe_filename_keeps_only_the_last_part(raw, clean):
    assert safe_filename(raw) == clean


@pytest.mark.parametrize("raw", ["", "..", "/", "\x00"])
def test_unusable_filenames_are_refused(raw):
    with pytest.raises(LoragError):
        safe_filename(raw)


def test_inside_refuses_escapes(tmp_path):
    assert inside(tmp_path, "adapters", "a") == (tmp_path / "adapters" / "a").resolve()
    for parts in (("..", "x"), ("/etc/passwd",), ("a", "..", "..", "b")):
        with pytest.raises(LoragError):
            inside(tmp_path, *parts)
    (tmp_path / "link").symlink_to("/etc")
    with pytest.raises(LoragError):
        inside(tmp_path, "link", "passwd")
