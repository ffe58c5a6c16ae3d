"""What a chunk carries besides its own text, so that a question finds the right document's page.

In a collection of many look-alike documents (ten annual reports all saying "Item 7", "net income", "2022"), a
chunk's text alone rarely says whose report it is. Each chunk is therefore embedded and keyword-indexed with a
short header: the document's title (from its file name) and the section it sits in. Keyword queries also get the
bare years out of "FY2022"/"2021Q1", since the documents write "2022" and "fiscal 2022".
"""

from __future__ import annotations

import re
from pathlib import Path

SEPARATORS = re.compile(r"[_\-.\s]+")
CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
YEAR_IN_TOKEN = re.compile(r"(?<![0-9])((?:19|20)[0-9]{2})(?![0-9])")
WORD = re.compile(r"\w+")


def document_title(filename: str) -> str:
    """'JOHNSON_JOHNSON_2022_10K.pdf' -> 'JOHNSON JOHNSON 2022 10K'; 'annualReport-2023.pdf' -> 'annual Report 2023'."""
    stem = Path(filename).stem
    return " ".join(SEPARATORS.split(CAMEL.sub(" ", stem))).strip() or filename


def header(title: str, section: str) -> str:
    return f"{title} | {section}" if section and section != title else title


def embedding_text(title: str, section: str, text: str) -> str:
    """The text the embedder sees for a chunk: its header line, then the chunk."""
    return f"{header(title, section)}\n{text}"


def keyword_query(question: str) -> str:
    """The question for BM25, with the years inside tokens like FY2022 or 2021Q1 added as words of their own."""
    extra = [year for token in WORD.findall(question) if not token.isdigit()
             for year in YEAR_IN_TOKEN.findall(token)]
    return " ".join([question, *extra]) if extra else question
