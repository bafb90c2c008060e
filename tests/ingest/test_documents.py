"""Documents -> chunks with page and heading anchors, on real generated files."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from doc_files import PDF_WORDS, dejavu_font, write_chinese_text

from pipelines.ingest.documents import (
    Block,
    DocumentError,
    chunk_blocks,
    chunk_tokenizer,
    decode_text,
    detect_language,
    read_document,
)


def tokens(text: str) -> int:
    return len(chunk_tokenizer().encode(text, add_special_tokens=False).ids)


@pytest.mark.integration
def test_markdown_heading_paths(docs_dir: Path) -> None:
    doc = read_document(docs_dir / "espresso.md")
    assert doc.language == "en" and doc.mime == "text/markdown" and doc.pages is None
    anchors = {c.heading: c.text for c in doc.chunks}
    assert "care of the espresso machine" in anchors["Espresso Guide"]
    assert "backflush it weekly" in anchors["Espresso Guide > Cleaning"]  # emphasis markup dropped
    assert "**" not in anchors["Espresso Guide > Cleaning"]
    assert "citric acid" in anchors["Espresso Guide > Cleaning > Descaling"]
    assert "slower shot" in anchors["Espresso Guide > Grinding"]  # a level-2 heading closes the level-3 one


@pytest.mark.integration
def test_html_drops_scripts_and_keeps_headings(docs_dir: Path) -> None:
    doc = read_document(docs_dir / "bikes.html")
    text = " ".join(c.text for c in doc.chunks)
    assert "secretScriptText" not in text and "color: red" not in text
    anchors = {c.heading: c.text for c in doc.chunks}
    assert "degreaser" in anchors["Bicycle Maintenance > Chain"]
    assert "tension monthly" in anchors["Bicycle Maintenance > Chain > Tension"]
    assert "Brake pads" in anchors["Bicycle Maintenance > Brakes"]
    assert doc.language == "en"


@pytest.mark.integration
def test_pdf_chunks_cite_their_page(docs_dir: Path) -> None:
    doc = read_document(docs_dir / "notes.pdf")
    assert doc.pages == 3 and doc.mime == "application/pdf"
    for page, word in enumerate(PDF_WORDS, start=1):
        on_page = [c for c in doc.chunks if word in c.text]
        assert on_page and {c.page for c in on_page} == {page}
    assert "ünïcödé" in doc.chunks[0].text


@pytest.mark.integration
def test_pdf_bookmarks_become_headings(tmp_path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("dejavu", fname=str(dejavu_font()))
    pdf.set_font("dejavu", size=12)
    for title in ("Installation", "Operation"):
        pdf.add_page()
        pdf.start_section(title)
        pdf.multi_cell(0, 8, f"This page explains the {title.lower()} of the pump.")
    pdf.output(str(tmp_path / "pump.pdf"))
    doc = read_document(tmp_path / "pump.pdf")
    assert [(c.page, c.heading) for c in doc.chunks] == [(1, "Installation"), (2, "Operation")]


@pytest.mark.integration
def test_scanned_pdf_pages_are_read_by_ocr(tmp_path: Path) -> None:
    from fpdf import FPDF
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (900, 220), "white")
    ImageDraw.Draw(image).text((30, 70), "INVOICE 4711 PAID", fill="black",
                               font=ImageFont.truetype(str(dejavu_font()), 64))
    image.save(tmp_path / "scan.png")
    pdf = FPDF()
    pdf.add_page()
    pdf.image(str(tmp_path / "scan.png"), x=10, y=10, w=180)
    pdf.output(str(tmp_path / "scan.pdf"))
    doc = read_document(tmp_path / "scan.pdf")
    assert doc.chunks[0].page == 1
    assert "INVOICE 4711" in doc.chunks[0].text.replace("  ", " ")


@pytest.mark.integration
def test_pdf_without_text_or_images_fails_clearly(tmp_path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.output(str(tmp_path / "blank.pdf"))
    with pytest.raises(DocumentError, match="^no extractable text"):
        read_document(tmp_path / "blank.pdf")


@pytest.mark.integration
def test_corrupt_pdf_fails_clearly(tmp_path: Path, docs_dir: Path) -> None:
    data = (docs_dir / "notes.pdf").read_bytes()
    (tmp_path / "cut.pdf").write_bytes(data[: len(data) // 3])
    with pytest.raises(DocumentError, match="PDF|no extractable text"):
        read_document(tmp_path / "cut.pdf")


@pytest.mark.integration
def test_docx_headings_and_tables(docs_dir: Path) -> None:
    doc = read_document(docs_dir / "garden.docx")
    anchors = {c.heading: c.text for c in doc.chunks}
    assert "full sun" in anchors["Garden Handbook > Tomatoes"]
    assert "Variety | Roma" in anchors["Garden Handbook > Tomatoes"]  # the table stays under its heading
    assert "compost heap" in anchors["Garden Handbook > Compost"]


@pytest.mark.integration
@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "utf-8", "utf-8-sig", "utf-16"])
def test_chinese_text_in_any_common_encoding(tmp_path: Path, encoding: str) -> None:
    doc = read_document(write_chinese_text(tmp_path / "zh.txt", encoding))
    assert doc.language == "zh"
    assert "柠檬酸除垢" in " ".join(c.text for c in doc.chunks)


@pytest.mark.integration
def test_chunks_are_token_sized_with_overlap() -> None:
    sentences = [f"Sentence number {i} talks about topic {i % 7} in some detail." for i in range(200)]
    chunks = chunk_blocks([Block(" ".join(sentences), page=4, heading="Long")], max_tokens=64, overlap=16)
    assert len(chunks) > 10
    assert all(tokens(c.text) <= 64 for c in chunks)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert all(c.page == 4 and c.heading == "Long" for c in chunks)
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert before.text[-20:] in after.text  # neighbours share their boundary text
    assert chunks[0].text.endswith(".")  # windows end at a sentence end when one is near
    with pytest.raises(ValueError):
        chunk_blocks([Block("x")], max_tokens=16, overlap=16)


@pytest.mark.unit
def test_decode_text_refuses_to_guess() -> None:
    assert decode_text("naïve café".encode()) == "naïve café"
    assert decode_text(codecs.BOM_UTF16_LE + "naïve".encode("utf-16-le")) == "naïve"
    assert decode_text("咖啡机的保养。".encode("gbk")) == "咖啡机的保养。"
    for latin in ("Café crème, naïve résumé", "été à Noël, déjà vu", "Grüße aus Köln"):
        with pytest.raises(DocumentError, match="^not UTF-8 text"):
            decode_text(latin.encode("latin-1"))
    with pytest.raises(DocumentError, match="binary"):
        decode_text(b"abc\x00def")


@pytest.mark.unit
def test_detect_language() -> None:
    assert detect_language("The machine is cleaned with water and the steam wand is wiped.") == "en"
    assert detect_language("La machine est nettoyée avec de l'eau et le tube est essuyé pour les clients.") == "fr"
    assert detect_language("咖啡机需要每天清洁 with some English words") == "zh"
    assert detect_language("コーヒーマシンを毎日掃除します") == "ja"
    assert detect_language("1234 5678") is None
