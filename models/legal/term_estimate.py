"""A statistical prison-term estimate: linear regression of log(months + 1) on the fact and the charges.

The seed's lesson is that LLMs are poor at numbers; on CAIL2018's validation split the LLM's merged terms
scored 0.29 while this model, trained in seconds on the training split, scores about 0.56. Its features are
the baseline's TF-IDF over jieba tokens, bucketed amounts ("NUM_元_13": about 8,000 yuan; weights of drugs,
counts of people) — what sentencing guidelines key on — and the charges as one-hot columns. A linear SVR
(absolute-error loss in log space) beat ridge regression and the median term of the charge (0.57 against
0.53 and 0.55 with the gold charges). Life and death sentences are left to the precedents: they are rare and
categorical, and the regression trains without them.

The estimate is shown to the LLM beside the precedents and joins its drafts in the median (`sentencing.py`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from models.legal import load_pickled, save_pickled
from models.legal.baseline import jieba_tokens
from models.legal.data import Case

MODEL_FILE = "term_estimate.pkl"
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(万元|元|千克|公斤|克|人|次|辆|部|台|个)")
_UNITS = {"万元": ("元", 10_000.0), "公斤": ("千克", 1.0)}


def amount_tokens(text: str) -> list[str]:
    """Amounts as tokens: unit and log2 bucket (a judge's brackets are far coarser than the digits)."""
    out = []
    for match in _AMOUNT.finditer(text):
        unit, scale = _UNITS.get(match.group(2), (match.group(2), 1.0))
        value = float(match.group(1)) * scale
        out.append(f"NUM_{unit}_{int(math.log2(value + 1))}")
    return out


def _tokens(text: str) -> list[str]:
    return jieba_tokens(text) + amount_tokens(text)


class TermEstimator:
    def __init__(self, c: float = 0.3):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import LinearSVR

        self.vectorizer = TfidfVectorizer(tokenizer=_tokens, token_pattern=None, lowercase=False, min_df=2,
                                          max_df=0.9, sublinear_tf=True)
        self.model = LinearSVR(C=c, epsilon=0.0, max_iter=10_000, random_state=0)
        self.charges: dict[str, int] = {}

    def _onehot(self, charges: Sequence[Sequence[str]]):
        import scipy.sparse as sp

        onehot = sp.lil_matrix((len(charges), len(self.charges)), dtype=np.float64)
        for row, names in enumerate(charges):
            for name in names:
                if name in self.charges:
                    onehot[row, self.charges[name]] = 1.0
        return onehot.tocsr()

    def _features(self, tfidf, charges: Sequence[Sequence[str]]):
        import scipy.sparse as sp

        return sp.hstack([tfidf, self._onehot(charges)]).tocsr()

    def fit(self, cases: Sequence[Case]) -> TermEstimator:
        import jieba

        jieba.setLogLevel(60)
        fixed = [c for c in cases if not c.life and not c.death]
        if not fixed:
            raise ValueError("no cases with a fixed-term sentence to train the term estimate on")
        self.charges = {name: i for i, name in enumerate(sorted({n for c in fixed for n in c.charges}))}
        tfidf = self.vectorizer.fit_transform([c.fact for c in fixed])  # jieba runs once over the facts
        target = np.log1p([c.prison_months for c in fixed])
        self.model.fit(self._features(tfidf, [c.charges for c in fixed]), target)
        return self

    def predict_months(self, facts: Sequence[str], charges: Sequence[Sequence[str]]) -> np.ndarray:
        """Estimated fixed terms in months (>= 0), one per fact, given its charges."""
        if not facts:
            return np.zeros(0)
        features = self._features(self.vectorizer.transform(list(facts)), charges)
        return np.maximum(np.expm1(self.model.predict(features)), 0.0)

    def save(self, folder: Path) -> Path:
        return save_pickled(self, folder, MODEL_FILE)

    @staticmethod
    def load(folder: Path) -> TermEstimator:
        return load_pickled(folder, MODEL_FILE, "term estimate")
