"""Pipelines: ingestion, retrieval and the demo corpus."""

import core  # noqa: F401  (sets the OpenMP wait policy before FAISS or the e5 engine load)
