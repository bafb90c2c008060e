"""The `legal_judgement` tool for the researcher agent. Its docstring is what the LLM sees."""

from __future__ import annotations

from langchain_core.tools import BaseTool, tool
from pydantic import BaseModel, Field

from core.settings import Settings, get_settings
from core.types import Verdict
from models.legal.labels import CONFIDENCE_LABELS


def confidence_text(verdict: Verdict) -> str:
    """"TF-IDF baseline probability 0.42": the confidence, labelled by the model it came from."""
    return f"{CONFIDENCE_LABELS.get(verdict.confidence_source or '', 'confidence')} {verdict.confidence:.2f}"


class LegalJudgementArgs(BaseModel):
    fact: str = Field(description="the full Chinese description of the criminal case (案情), as written by the user")


def sentence_text(verdict: Verdict) -> tuple[str, str]:
    """The verdict's prison term and fine as short bilingual text (the tool and the CLI print them)."""
    if verdict.death_penalty:
        term = "death penalty (死刑)"
    elif verdict.life_imprisonment:
        term = "life imprisonment (无期徒刑)"
    elif verdict.prison_months is not None:
        term = f"{verdict.prison_months:g} months fixed-term imprisonment (有期徒刑)"
    else:
        term = "no sentence given"
    fine = "no fine given" if verdict.fine is None else f"fine {verdict.fine:,.0f} yuan (罚金)"
    return term, fine


def describe_verdict(verdict: Verdict) -> str:
    """The verdict as short text for the LLM, citing the precedents by case id."""
    if not verdict.identified:
        lines = [f"No charge identified ({confidence_text(verdict)})."]
    else:
        term, fine = sentence_text(verdict)
        lines = [f"Charges (罪名): {'、'.join(verdict.charges)} ({confidence_text(verdict)}).",
                 f"Defendant: {verdict.defendant or 'unknown'}. Predicted sentence: {term}; {fine}."]
    lines += [f"Note: {n}" for n in verdict.notes]
    if verdict.precedents:
        lines.append("Based on precedents:")
        for p in verdict.precedents:
            outcome = "death" if p.death else "life" if p.life else f"{p.prison_months} months"
            lines.append(f"- case {p.case_id} (similarity {p.similarity:.2f}): {'、'.join(p.charges)}, {outcome}, "
                         f"fine {p.fine:,.0f} yuan")
    lines.append("This is a statistical prediction from past judgements, not legal advice.")
    return "\n".join(lines)


def make_legal_tool(settings: Settings | None = None) -> BaseTool:
    """The tool bound to `settings` (default: the process-wide settings, read at call time)."""

    @tool("legal_judgement", args_schema=LegalJudgementArgs)
    def legal_judgement(fact: str) -> str:
        """Predict the criminal charges (罪名), the prison term and the fine of a Chinese criminal case from its
        description, based on similar past judgements (CAIL2018 precedents). Use it when the user describes
        what someone did in a criminal case (in Chinese) and asks which crime it is or what sentence to expect.
        Do not use it for civil matters, general legal questions or text that is not a case description."""
        from models.legal.pipeline import predict

        return describe_verdict(predict(fact, settings or get_settings()))

    return legal_judgement

