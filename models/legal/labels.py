"""The charge label set and the multi-label decision rule shared by every charge predictor.

Labels are the charges the training data uses, in the order of `accu.txt`, followed by any charge the file
lacks (reported, not dropped). A charge no training case carries could only ever get an untrained output, so
it is not a label. The order comes from the whole training file, never from a subset, so label indices stay
the same whatever `--limit` selects.

Multi-label rule (about 9 % of CAIL2018 cases carry several charges). Models are trained on a distribution:
the multi-hot target normalised to sum 1, i.e. cross-entropy with soft targets (a two-charge case puts 0.5 on
each). A prediction is the top charge, always, plus every other charge whose probability is at least
`SECOND_CHARGE_RATIO` times the top one's, at most `MAX_CHARGES` in all. A model that learned a 0.5/0.5 split
for a kind of case reproduces both charges; a single dominant charge stays alone.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from models.legal.data import Case

SECOND_CHARGE_RATIO = 0.5
MAX_CHARGES = 3


class LabelSet:
    def __init__(self, names: Sequence[str]):
        if len(set(names)) != len(names):
            raise ValueError("duplicate charge names in the label set")
        self.names: list[str] = list(names)
        self.index: dict[str, int] = {name: i for i, name in enumerate(self.names)}

    def __len__(self) -> int:
        return len(self.names)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelSet) and self.names == other.names

    @classmethod
    def build(cls, accu_file: Path | None, cases: Iterable[Case]) -> tuple[LabelSet, list[str]]:
        """Labels of the data in `accu.txt` order (when given); also returns the data's charges the file lacks."""
        order = read_accu(accu_file) if accu_file is not None else []
        seen = Counter(charge for case in cases for charge in case.charges)
        known = [name for name in order if name in seen]
        extra = sorted(c for c in seen if c not in set(order))
        return cls(known + extra), (extra if accu_file is not None else [])

    def targets(self, cases: Sequence[Case]) -> np.ndarray:
        """(n, labels) float32 soft targets: each case's charges share probability 1 equally."""
        out = np.zeros((len(cases), len(self)), dtype=np.float32)
        for row, case in enumerate(cases):
            ids = [self.index[c] for c in case.charges]
            out[row, ids] = 1.0 / len(ids)
        return out

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"charges": self.names}, ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> LabelSet:
        return cls(json.loads(path.read_text(encoding="utf-8"))["charges"])


def read_accu(path: Path) -> list[str]:
    """The charge names of an `accu.txt` file, one a line, in order."""
    return list(dict.fromkeys(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()))


def find_accu(data_file: Path) -> Path | None:
    """CAIL2018 ships `accu.txt` beside its data files."""
    candidate = Path(data_file).parent / "accu.txt"
    return candidate if candidate.is_file() else None


def select_charges(probs: np.ndarray) -> list[int]:
    """Label indices chosen from one probability vector by the multi-label rule above, best first."""
    order = np.argsort(-probs, kind="stable")[:MAX_CHARGES]
    top = float(probs[order[0]])
    return [int(i) for i in order if i == order[0] or float(probs[i]) >= SECOND_CHARGE_RATIO * top]


# The verdict's confidence named by the model it came from (Verdict.confidence_source).
CONFIDENCE_LABELS = {"baseline": "TF-IDF baseline probability", "classifier": "classifier probability",
                     "blend": "classifier/baseline blend probability"}
