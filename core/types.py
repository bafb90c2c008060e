"""The data types that cross folders, defined once.

Ingestion produces `Source`, `Segment`, `Keyframe`, `Caption` and `Chunk` rows; retrieval
returns `Evidence`, each with the `Citation` that points at the exact video moment or
document page. They are pydantic models so that the catalog, the CLI, the REST API and
the agents all read and write the same shapes.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field


class SourceType(StrEnum):
    video = "video"
    audio = "audio"  # audio-only media: a transcript, no keyframes
    document = "document"


class Source(BaseModel):
    id: int | None = None
    content_hash: str  # sha256 of the file's bytes: the identity of a source
    path: str  # where it was ingested from
    name: str  # file name, shown in citations
    type: SourceType
    mime: str = ""
    language: str | None = None  # ISO 639-1, detected per source
    duration_s: float | None = None  # media only
    pages: int | None = None  # documents with pages
    size_bytes: int = 0


class Segment(BaseModel):
    """A timestamped stretch of transcript."""

    id: int | None = None
    source_id: int | None = None  # None until the catalog stores it
    t0: float
    t1: float
    text: str
    language: str | None = None


class DetectedObject(BaseModel):
    label: str  # COCO class name
    score: float
    box: tuple[float, float, float, float]  # x0, y0, x1, y1, relative to the frame (0..1)


class Tag(BaseModel):
    label: str  # ImageNet class name
    score: float


class Keyframe(BaseModel):
    id: int | None = None
    source_id: int | None = None
    t: float  # seconds into the video
    path: str  # JPEG thumbnail under ARGUS_HOME/media
    objects: list[DetectedObject] = Field(default_factory=list)
    tags: list[Tag] = Field(default_factory=list)
    ocr: str = ""

    def searchable_text(self) -> str:
        """`objects: person, cup ×2; tags: espresso; text: "..."` — what the text channels index."""
        counts: dict[str, int] = {}
        for obj in self.objects:
            counts[obj.label] = counts.get(obj.label, 0) + 1
        parts = []
        if counts:
            parts.append("objects: " + ", ".join(f"{k} ×{n}" if n > 1 else k for k, n in counts.items()))
        if self.tags:
            parts.append("tags: " + ", ".join(t.label for t in self.tags))
        if self.ocr.strip():
            parts.append(f'text: "{self.ocr.strip()}"')
        return "; ".join(parts)


class Caption(BaseModel):
    id: int | None = None
    source_id: int | None = None
    text: str
    model: str  # which model wrote it
    composed: bool = False  # True: composed by the chat LLM from transcript/tags/OCR, not seen by a VLM


class Chunk(BaseModel):
    """A piece of a document, sized in tokens, with its anchor."""

    id: int | None = None
    source_id: int | None = None
    ordinal: int  # position in the document
    text: str
    page: int | None = None  # 1-based, for paged documents
    heading: str | None = None  # heading path, e.g. "Guide > Chains > Cleaning"


class Citation(BaseModel):
    """Where a piece of evidence lives: a video moment (t0–t1, with its keyframe) or a document page."""

    source_id: int
    source: str  # file name
    type: SourceType
    t0: float | None = None
    t1: float | None = None
    keyframe_id: int | None = None
    page: int | None = None
    heading: str | None = None

    def label(self) -> str:
        if self.t0 is not None:
            return f"{self.source} @ {format_timestamp(self.t0)}"
        if self.page is not None:
            return f"{self.source} p. {self.page}"
        return self.source


class Evidence(BaseModel):
    citation: Citation
    text: str  # the snippet shown to people and to the LLM
    score: float
    channels: dict[str, float] = Field(default_factory=dict)  # per-channel normalised scores


def format_timestamp(seconds: float) -> str:
    """mm:ss (or h:mm:ss past an hour)."""
    total = max(0, int(seconds))
    h, rem = divmod(total, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class Answer(BaseModel):
    """An answer from the evidence: `text` carries [n] markers, `evidence[n-1]` is what [n] cites."""

    question: str
    text: str
    evidence: list[Evidence] = Field(default_factory=list)
    answered: bool = True  # False: the evidence did not answer the question, and the text says so


# ---------------------------------------------------------------- agents
# The plan, findings and run results of the agent team (agents/), shared with the REST
# API and the UI, which stream and show them.


class PlanStep(BaseModel):
    """One step of a plan: which agent does what, and what it should hand back."""

    agent: Literal["researcher", "coder"] = Field(
        description="researcher: searches the user's videos and documents; coder: runs Python to calculate or chart")
    goal: str = Field(min_length=3, max_length=300, description="what this step must find out or compute")
    expected_output: str = Field(max_length=200, description="what the step hands back, e.g. 'the cleaning schedule'")


class Plan(BaseModel):
    steps: list[PlanStep] = Field(min_length=1, max_length=4, description="the steps, in order")


class ToolCallRecord(BaseModel):
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    result: str = ""  # a short summary of what the tool returned
    evidence: list[int] = Field(default_factory=list)  # registry numbers of the evidence it produced


class Finding(BaseModel):
    """What one executed step produced; `evidence` holds numbers in the run's evidence registry."""

    step: int  # 0-based index into the plan
    agent: str
    goal: str
    ok: bool
    summary: str
    evidence: list[int] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)  # paths of produced files (charts)
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)


AgentEventKind = Literal["run_start", "node_start", "node_end", "token", "tool_call", "tool_result", "plan",
                         "interrupt", "report", "error"]


class AgentEvent(BaseModel):
    """One event of a streamed run (the CLI trace and the REST API's SSE both consume these)."""

    kind: AgentEventKind
    thread_id: str
    node: str | None = None
    t: float = 0.0  # seconds since the stream started
    data: dict[str, Any] = Field(default_factory=dict)


RunStatus = Literal["answered", "done", "partial", "refused", "clarify", "interrupted"]


class AgentResult(BaseModel):
    """The outcome of a run: the Markdown report, whose [n] markers index `evidence` (1-based)."""

    thread_id: str
    question: str
    status: RunStatus
    report: str = ""
    evidence: list[Evidence] = Field(default_factory=list)
    plan: Plan | None = None
    findings: list[Finding] = Field(default_factory=list)
    not_done: list[str] = Field(default_factory=list)  # steps the budgets left undone
    stop_reason: str | None = None
    interrupt: dict[str, Any] | None = None  # the pending plan review, when status is "interrupted"
    llm_calls: int = 0
    tokens: int = 0


# ---------------------------------------------------------------- legal judgement
# The legal tool's answer (models/legal), returned by its CLI, the REST API and the agents' tool.


class Precedent(BaseModel):
    """A judged case from the precedent base, as cited by a verdict."""

    case_id: str  # `<file stem>:<line>` of the case in its CAIL2018 file
    charges: list[str]
    articles: list[int] = Field(default_factory=list)
    fine: float  # yuan
    prison_months: int
    life: bool = False
    death: bool = False
    similarity: float  # cosine similarity of the facts
    fact: str  # the start of the case's fact


class ChargeProbability(BaseModel):
    charge: str
    probability: float


class Verdict(BaseModel):
    """Predicted charges and sentence for one case description.

    `identified` is False when the classifier is not confident enough or no precedent is similar enough: then
    `charges` is empty and the sentence fields are None, since numbers are only ever taken from precedents.
    """

    identified: bool
    charges: list[str] = Field(default_factory=list)  # 罪名
    confidence: float  # the top charge's probability, from the model `confidence_source` names
    # "baseline" (the TF-IDF model: the default, legal_baseline_weight 1.0), "classifier" (the LoRA model,
    # weight 0) or "blend" (both, mixed); None when no model was asked (empty or non-Chinese input)
    confidence_source: Literal["baseline", "classifier", "blend"] | None = None
    candidates: list[ChargeProbability] = Field(default_factory=list)  # the classifier's top charges
    defendant: str | None = None  # 犯罪嫌疑人
    fine: float | None = None  # 罚金, yuan
    prison_months: float | None = None  # 有期徒刑, months
    life_imprisonment: bool | None = None  # 是否无期
    death_penalty: bool | None = None  # 是否死刑
    precedents: list[Precedent] = Field(default_factory=list)  # the precedents the sentence is based on
    sentencing_runs: int = 0  # structured LLM calls merged into the sentence
    notes: list[str] = Field(default_factory=list)  # why nothing was identified, truncation, fallbacks
