"""The text layer's lines as PDFium gives them: cleaned, headings told from text, kerning splits mended."""

from engine.rag.pdftext import clean_line, is_heading, read_pages
from tests.conftest import need_shared


def test_a_last_letter_set_apart_by_kerning_joins_its_word():
    assert clean_line("Consolidated Balance Shee t") == "Consolidated Balance Sheet"
    assert is_heading(clean_line("Consolidated Balance Shee t"))
    assert clean_line("Consolidated Statement of Changes in Equit y") == "Consolidated Statement of Changes in Equity"
    assert clean_line("Total assets ........ 1,234") == "Total assets 1,234"


def test_real_one_letter_words_and_capitals_stay_apart():
    assert clean_line("Appendix a") == "Appendix a"
    assert clean_line("as set out in Schedule I") == "as set out in Schedule I"
    assert clean_line("Отчет о") == "Отчет о"
    assert clean_line("x") == "x"
    assert clean_line("Accelerated filer o") == "Accelerated filer o"       # check boxes drawn as letters
    assert clean_line("Securities Act. Yes x No o") == "Securities Act. Yes x No o"
    assert clean_line("ASDA Stores Ltd v") == "ASDA Stores Ltd v"
    assert clean_line("as they say in you r") == "as they say in you r"     # only a capitalised word is mended


def filing_page_lines(name: str, page: int) -> list[str]:
    """The cleaned lines of one page (1-based) of a real filing in ../shared/reports-dev (the PDFium text path)."""
    return read_pages(need_shared("reports-dev", "pdfs", name))[page - 1].split("\n")


def test_the_balance_sheet_page_of_a_real_filing_is_headed_balance_sheet():
    lines = filing_page_lines("3M_2018_10K.pdf", 58)
    assert any(is_heading(line) and "Balance Sheet" in line for line in lines), lines[:12]


def test_words_pdfium_puts_one_a_line_come_back_together_with_their_figures():
    lines = filing_page_lines("MGMRESORTS_2018_10K.pdf", 57)   # the balance sheet
    assert "CONSOLIDATED BALANCE SHEETS" in lines and is_heading("CONSOLIDATED BALANCE SHEETS")
    assert "Cash and cash equivalents $ 1,526,762 $ 1,499,995" in lines


def test_a_statement_continued_on_its_next_page_is_still_a_heading():
    assert is_heading("Consolidated Statement of Cash Flows (continued)")
    assert is_heading("Consolidated Balance Sheets - Continued")
    assert not is_heading("as continued")


def test_a_company_line_over_a_statement_heads_the_page_with_it():
    from engine.rag.chunk import chunk_elements
    from engine.rag.pdftext import page_elements

    pages = ["MGM RESORTS INTERNATIONAL AND SUBSIDIARIES\nCONSOLIDATED BALANCE SHEETS\nAssets\n"
             + "\n".join(f"Line item {n} {n},000 {n},500" for n in range(60)),
             "Notes to the Statements\nThe company keeps its books in dollars."]
    chunks = chunk_elements(page_elements(pages, "r.pdf"), 400, 50, "r.pdf", within_pages=True)
    first_page = [c.section for c in chunks if c.pages == [1]]
    assert len(first_page) > 2
    assert all(s.startswith("MGM RESORTS INTERNATIONAL AND SUBSIDIARIES / CONSOLIDATED BALANCE SHEETS")
               for s in first_page), first_page
    assert [c.section for c in chunks if c.pages == [2]] == ["Notes to the Statements"]
