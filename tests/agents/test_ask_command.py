"""`argus ask` prints the finished answer (markers checked), the same text the API returns, not the raw stream.

The chat model is `ScriptedChatModel` (a fake that streams a fixed reply with a dangling marker); the real
engine runs `argus ask` in the demo test.
"""

from __future__ import annotations

import pytest
from scripted import ScriptedChatModel
from typer.testing import CliRunner

from core.types import Citation, Evidence, SourceType
from pipelines.retrieve.answer import finish_answer

pytestmark = pytest.mark.unit

FACT = Evidence(citation=Citation(source_id=1, source="guide.md", type=SourceType.document, page=2),
                text="Descale the espresso machine every month with citric acid.", score=0.9)
REPLY = "Descale it every month with citric acid [1][7]."


class OneHitRetriever:
    def search(self, query: str, k: int = 10, filters=None, **kwargs) -> list[Evidence]:
        return [FACT]


def test_ask_prints_the_resolved_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    import app.commands.retrieve as retrieve
    import models.llm.stream as stream
    from app.cli import app

    monkeypatch.setattr(retrieve, "_retriever", lambda *args, **kwargs: OneHitRetriever())
    monkeypatch.setattr(stream, "answer_stream", lambda *args, **kwargs: ScriptedChatModel(replies=[REPLY]))
    result = CliRunner().invoke(app, ["ask", "How often should I descale?"])
    assert result.exit_code == 0, result.output
    resolved = finish_answer("How often should I descale?", [FACT], REPLY).text
    assert resolved == "Descale it every month with citric acid [1]." and resolved in result.output
    assert "[7]" not in result.output and "guide.md p. 2" in result.output
