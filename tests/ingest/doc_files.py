"""Document files and the subprocess environment for the ingestion tests.

A module of its own (not conftest.py): a test that imports from "conftest" gets whichever
conftest module was imported first when several test folders are collected together.
"""

from __future__ import annotations

import os
from pathlib import Path

PDF_WORDS = ("aardvark", "bumblebee", "chinchilla")  # one word per page


def dejavu_font() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"


def write_markdown(path: Path) -> Path:
    path.write_text(
        "# Espresso Guide\n\nThis guide is about the care of the espresso machine.\n\n"
        "## Cleaning\n\nFlush the group head with hot water after every shot, and **backflush** it weekly.\n\n"
        "### Descaling\n\n- Use citric acid.\n- Run the solution through the steam wand.\n\n"
        "## Grinding\n\nA fine grind gives a slower shot.\n",
        encoding="utf-8",
    )
    return path


def write_html(path: Path) -> Path:
    path.write_text(
        "<!DOCTYPE html><html lang='en'><head><title>Bikes</title><style>p {color: red}</style></head><body>"
        "<h1>Bicycle Maintenance</h1><p>The chain is the part that wears fastest.</p>"
        "<script>var secretScriptText = 1;</script>"
        "<h2>Chain</h2><p>Clean the chain with degreaser, then oil it.</p>"
        "<h3>Tension</h3><ul><li>Check the tension monthly.</li><li>Replace a stretched chain.</li></ul>"
        "<h2>Brakes</h2><p>Brake pads are checked for wear every season.</p></body></html>",
        encoding="utf-8",
    )
    return path


def write_pdf(path: Path) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("dejavu", fname=str(dejavu_font()))
    pdf.set_font("dejavu", size=12)
    for number, word in enumerate(PDF_WORDS, start=1):
        pdf.add_page()
        pdf.multi_cell(0, 8, f"Page {number} of the field notes is about the {word}. "
                             f"The {word} is described here with ünïcödé accents – and this is the end of it.")
    pdf.output(str(path))
    return path


def write_chinese_text(path: Path, encoding: str = "gb18030") -> Path:
    text = ("咖啡机的保养指南。\n\n每天使用后，用热水冲洗冲煮头，并清洁蒸汽棒。\n\n"
            "每个月用柠檬酸除垢一次，这样咖啡的味道会更好。")
    path.write_bytes(text.encode(encoding))
    return path


def write_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_heading("Garden Handbook", 0)
    document.add_heading("Tomatoes", 1)
    document.add_paragraph("Tomatoes need full sun and regular watering.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Variety"
    table.rows[0].cells[1].text = "Roma"
    document.add_heading("Compost", 1)
    document.add_paragraph("Turn the compost heap every two weeks.")
    document.save(str(path))
    return path


def subprocess_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment for running `argus` in a subprocess against `home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARGUS_") or k == "ARGUS_MODELS_DIR"}
    return {**env, "ARGUS_HOME": str(home), **extra}
