"""The text layer's lines as PDFium gives them: cleaned, headings told from text, kerning splits mended."""

from engine.rag.pdftext import clean_line, clean_page, is_heading
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


def test_the_balance_sheet_page_of_a_real_filing_is_headed_balance_sheet():
    import pypdfium2 as pdfium

    from engine.rag.pdftext import _page_text

    doc = pdfium.PdfDocument(str(need_shared("reports-dev", "pdfs", "3M_2018_10K.pdf")))
    try:
        lines = clean_page(_page_text(doc, 57)).split("\n")    # page 58: the balance sheet
    finally:
        doc.close()
    assert any(is_heading(line) and "Balance Sheet" in line for line in lines), lines[:12]
