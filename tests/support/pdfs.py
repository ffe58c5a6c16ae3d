"""PDFs the tests make themselves: scanned pages (text rendered into an image), text pages written the way
real tools write them (PDFKit, PyMuPDF), mixes of both, and a file cut short in transfer.

The text PDFs are written byte by byte (no PDF library writes the same file twice the same way, and the
layouts of PDFKit and PyMuPDF are the point); scanned pages are Pillow images saved as PDF, as a scanner's
software does. Fonts: matplotlib's DejaVu Sans (Latin and Cyrillic), a dependency already.
"""

from __future__ import annotations

import io
import textwrap
import zlib
from pathlib import Path

A4 = (595, 842)
LETTER = (612, 792)
SCAN_DPI = 200


def _font(size: int):
    import matplotlib
    from PIL import ImageFont

    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"), size)


def scan_image(lines: list[str], dpi: int = SCAN_DPI):
    """An A4 page at `dpi` with `lines` drawn in black on white, slightly grey like a scan."""
    from PIL import Image, ImageDraw

    width, height = (round(side / 72 * dpi) for side in A4)
    image = Image.new("L", (width, height), 250)
    draw = ImageDraw.Draw(image)
    font = _font(round(12 / 72 * dpi))
    y = round(dpi)  # one inch margin
    for line in lines:
        for piece in textwrap.wrap(line, 70) or [""]:
            draw.text((round(dpi), y), piece, fill=20, font=font)
            y += round(font.size * 1.5)
    return image


def scanned_pdf(path: Path, pages: list[list[str]], dpi: int = SCAN_DPI) -> Path:
    """A PDF whose pages are only images (no text layer), one image per page."""
    images = [scan_image(lines, dpi) for lines in pages]
    images[0].save(path, "PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return Path(path)


# --- text PDFs written byte by byte ---------------------------------------------------------------------------
def _hex(text: str) -> str:
    return text.encode("cp1252").hex()


def _write(objects: dict[int, bytes], root: int, header: bytes, info: int | None = None) -> bytes:
    """A PDF from numbered object bodies, written in the given order, with a classic xref table."""
    out = io.BytesIO()
    out.write(header)
    offsets = {}
    for number, body in objects.items():
        offsets[number] = out.tell()
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    start = out.tell()
    size = max(offsets) + 1
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % size)
    for number in range(1, size):
        out.write(b"%010d 00000 n \n" % offsets[number] if number in offsets else b"0000000000 65535 f \n")
    trailer = b"/Size %d /Root %d 0 R" % (size, root) + (b" /Info %d 0 R" % info if info else b"")
    out.write(b"trailer\n<< " + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % start)
    return out.getvalue()


def _stream(content: bytes, compress: bool, extra: bytes = b"") -> bytes:
    data = zlib.compress(content) if compress else content
    filters = b" /Filter /FlateDecode" if compress else b""
    return b"<< /Length %d%s%s >>\nstream\n" % (len(data), filters, extra) + data + b"\nendstream"


def pdfkit_like(path: Path, lines: list[str]) -> Path:
    """One Letter page as PDFKit (Node.js) writes it: a y-flipped page matrix that every text block flips back,
    hex strings in TJ arrays, Flate-compressed content, objects out of order, /Producer (PDFKit)."""
    ops = [b"1 0 0 -1 0 792 cm"]
    y = 72.0
    for line in lines:
        ops += [b"q", b"1 0 0 -1 0 792 cm", b"BT", b"1 0 0 1 72 %.3f Tm" % (792 - y - 10.872), b"/F1 12 Tf",
                b"[<%s> 0] TJ" % _hex(line).encode(), b"ET", b"Q"]
        y += 13.872
    objects = {
        7: b"<< /Type /Page /Parent 1 0 R /MediaBox [0 0 612 792] /Contents 5 0 R /Resources 6 0 R >>",
        6: b"<< /ProcSet [/PDF /Text /ImageB /ImageC /ImageI] /Font << /F1 8 0 R >> >>",
        5: _stream(b"\n".join(ops) + b"\n", compress=True),
        3: b"<< /Producer (PDFKit) /Creator (PDFKit) /CreationDate (D:20261201120000Z) >>",
        8: b"<< /Type /Font /BaseFont /Helvetica /Subtype /Type1 /Encoding /WinAnsiEncoding >>",
        4: b"<< /Type /Catalog /Pages 1 0 R >>",
        1: b"<< /Type /Pages /Count 1 /Kids [7 0 R] >>",
        2: b"<< /Dests << /Names [] >> >>",
    }
    Path(path).write_bytes(_write(objects, root=4, info=3, header=b"%PDF-1.3\n%\xff\xff\xff\xff\n"))
    return Path(path)


def pymupdf_like(path: Path, lines: list[str]) -> Path:
    """One A4 page as PyMuPDF's insert_text writes it: compact dictionaries, the font named /helv, one BT per
    line with its own Tm, uncompressed content, %PDF-1.7 with MuPDF's binary comment."""
    ops = [b"q"]
    y = 72.0
    for line in lines:
        ops += [b"BT", b"1 0 0 1 72 %g Tm" % round(842 - y, 2), b"/helv 11 Tf [<%s>]TJ" % _hex(line).encode(),
                b"ET"]
        y += 15.4
    ops.append(b"Q")
    objects = {
        1: b"<</Type/Catalog/Pages 2 0 R>>",
        2: b"<</Type/Pages/Count 1/Kids[4 0 R]>>",
        3: b"<</Font<</helv 5 0 R>>>>",
        4: b"<</Type/Page/MediaBox[0 0 595 842]/Rotate 0/Resources 3 0 R/Parent 2 0 R/Contents 6 0 R>>",
        5: b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica/Encoding/WinAnsiEncoding>>",
        6: _stream(b"\n".join(ops) + b"\n", compress=False),
    }
    Path(path).write_bytes(_write(objects, root=1, header=b"%PDF-1.7\n%\xc2\xb5\xc2\xb6\n\n"))
    return Path(path)


def text_pages_pdf(path: Path, pages: list[list[str]], origins: list[tuple[int, int]] | None = None) -> Path:
    """A plain text PDF, one list of lines per page (Helvetica 11 on A4), each page's first line at its origin
    (default 72, 770: top left; a point outside the A4 box puts text where no viewer shows it)."""
    objects: dict[int, bytes] = {1: b"", 2: b"", 3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
                                                   b"/Encoding /WinAnsiEncoding >>"}
    kids = []
    for number, lines in enumerate(pages):
        page, content = len(objects) + 1, len(objects) + 2
        x, y = origins[number] if origins else (72, 770)
        ops = [b"BT /F1 11 Tf %d %d Td 15 TL" % (x, y)]
        ops += [b"<%s> Tj T*" % _hex(line).encode() for line in lines] + [b"ET"]
        objects[page] = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R "
                         b">> >> /Contents %d 0 R >>" % content)
        objects[content] = _stream(b"\n".join(ops) + b"\n", compress=True)
        kids.append(b"%d 0 R" % page)
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[2] = b"<< /Type /Pages /Count %d /Kids [%s] >>" % (len(kids), b" ".join(kids))
    Path(path).write_bytes(_write(objects, root=1, header=b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"))
    return Path(path)


def mixed_pdf(path: Path, pages: list[tuple[str, list[str]]]) -> Path:
    """Text and scanned pages in one PDF: pages are ("text" | "scan", lines), in order (joined by pikepdf)."""
    import pikepdf

    scratch = Path(path).with_suffix(".parts")
    scratch.mkdir(exist_ok=True)
    out, sources = pikepdf.new(), []
    for number, (kind, lines) in enumerate(pages):
        part = scratch / f"{number}.pdf"
        (scanned_pdf if kind == "scan" else text_pages_pdf)(part, [lines])
        sources.append(pikepdf.open(part))   # open until the save: pikepdf copies foreign pages lazily
        out.pages.extend(sources[-1].pages)
    out.save(path)
    for source in sources:
        source.close()
    for part in scratch.iterdir():
        part.unlink()
    scratch.rmdir()
    return Path(path)


def stamp(path: Path, text: str) -> Path:
    """A small line of real text at the foot of every page, as a scanner's software or a court clerk stamps a
    reference or page number onto scans."""
    import pikepdf

    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        font = pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                  BaseFont=pikepdf.Name.Helvetica, Encoding=pikepdf.Name.WinAnsiEncoding)
        for page in pdf.pages:
            page.add_resource(font, pikepdf.Name.Font, pikepdf.Name.FStamp, replace_existing=True)
            page.contents_add(pikepdf.Stream(pdf, b"BT /FStamp 8 Tf 400 20 Td <%s> Tj ET" % _hex(text).encode()))
        pdf.save(path)
    return Path(path)


def add_picture(path: Path, box: tuple[int, int, int, int], shade: int = 90) -> Path:
    """A grey picture (a logo, a photo) drawn in `box` (left, bottom, width, height in points) on every page."""
    import pikepdf

    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        picture = pikepdf.Stream(pdf, zlib.compress(bytes([shade]) * 64 * 64), Type=pikepdf.Name.XObject,
                                 Subtype=pikepdf.Name.Image, Width=64, Height=64, BitsPerComponent=8,
                                 ColorSpace=pikepdf.Name.DeviceGray, Filter=pikepdf.Name.FlateDecode)
        for page in pdf.pages:
            page.add_resource(picture, pikepdf.Name.XObject, pikepdf.Name.Picture, replace_existing=True)
            page.contents_add(pikepdf.Stream(pdf, b"q %d 0 0 %d %d %d cm /Picture Do Q" % (box[2], box[3], *box[:2])))
        pdf.save(path)
    return Path(path)


def truncated_pdf(path: Path, source: Path, keep: float = 0.6) -> Path:
    """`source` cut short after `keep` of its bytes, as an interrupted download leaves it."""
    data = Path(source).read_bytes()
    Path(path).write_bytes(data[: int(len(data) * keep)])
    return Path(path)
