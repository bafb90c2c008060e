"""Writing the demo documents: PDF (one section per page, real text layer), Markdown,
HTML and plain text."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

from pipelines.demo.assets import cjk_font, latin_font
from pipelines.demo.doc_texts import DocumentText

# A fixed date keeps the PDF bytes identical on every run.
_FIXED_DATE = datetime(2024, 1, 1, tzinfo=UTC)


def write_document(doc: DocumentText, path: Path) -> int | None:
    """Write `doc` to `path` in its format; returns the page count for PDFs."""
    writer = {"pdf": _write_pdf, "markdown": _write_markdown, "html": _write_html, "text": _write_text}[
        doc.format
    ]
    return writer(doc, path)


def _write_pdf(doc: DocumentText, path: Path) -> int:
    pdf = FPDF(format="A4")
    pdf.set_creation_date(_FIXED_DATE)
    pdf.set_title(doc.title)
    pdf.set_author("Argus demo corpus")
    pdf.set_auto_page_break(auto=False)
    pdf.add_font("body", fname=str(latin_font()))
    if any(s.lang == "zh" for s in doc.sections):
        pdf.add_font("cjk", fname=str(cjk_font()), collection_font_number=0)
    for number, section in enumerate(doc.sections, start=1):
        # One section per page: the queries label facts by page number.
        pdf.add_page()
        family = "cjk" if section.lang == "zh" else "body"
        if number == 1:
            pdf.set_font(family, size=22)
            pdf.multi_cell(0, 12, doc.title, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
        pdf.set_font(family, size=16)
        pdf.multi_cell(0, 9, f"{number}. {section.heading}", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        pdf.set_font(family, size=12)
        for paragraph in section.paragraphs:
            pdf.multi_cell(0, 7, paragraph, align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
        pdf.set_y(-20)
        pdf.set_font("body", size=9)
        pdf.cell(0, 8, f"Page {number} of {len(doc.sections)}", align="C")
    pdf.output(str(path))
    return len(doc.sections)


def _write_markdown(doc: DocumentText, path: Path) -> None:
    parts = [f"# {doc.title}\n"]
    for section in doc.sections:
        parts.append(f"## {section.heading}\n")
        parts.extend(f"{p}\n" for p in section.paragraphs)
    path.write_text("\n".join(parts), encoding="utf-8")
    return None


def _write_html(doc: DocumentText, path: Path) -> None:
    lang = "zh" if doc.langs == ["zh"] else "en"
    e = html.escape
    body = [f"<h1>{e(doc.title)}</h1>"]
    for section in doc.sections:
        body.append(f"<section>\n<h2>{e(section.heading)}</h2>")
        body.extend(f"<p>{e(p)}</p>" for p in section.paragraphs)
        body.append("</section>")
    text = (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{e(doc.title)}</title>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )
    path.write_text(text, encoding="utf-8")
    return None


def _write_text(doc: DocumentText, path: Path) -> None:
    parts = [doc.title, ""]
    for section in doc.sections:
        parts.extend([section.heading, *section.paragraphs, ""])
    path.write_text("\n".join(parts), encoding="utf-8")
    return None
