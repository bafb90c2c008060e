"""The legal-judgement tool: charges and sentence for a case description (Chinese criminal law)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from app.api.problems import ApiError
from app.api.security import require
from core.types import Verdict

router = APIRouter(prefix="/v1/legal", tags=["legal"])


class LegalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"fact": "被告人张某于2017年5月在某超市盗窃手机一部，价值人民币2000元。"}]})

    fact: str = Field(min_length=5, max_length=5000, description="The case's facts.")


@router.post("/predict", response_model=Verdict, summary="Predict charges and sentence",
             dependencies=[Depends(require("read"))], responses={503: {"description": "The legal model is not set up"}})
def predict(request: Request, body: LegalRequest) -> Verdict:
    from models.legal.pipeline import predict as legal_predict

    try:
        return legal_predict(body.fact, settings=request.app.state.argus.settings)
    except (OSError, LookupError, RuntimeError) as exc:
        raise ApiError(503, f"the legal tool is not available here ({type(exc).__name__}); "
                            "train it with `argus legal train`") from None
