"""The top of the house: the `argus` command line (`cli.py`, `commands/`) and the REST API (`api/`)."""

import core  # noqa: F401  (sets the OpenMP wait policy before FAISS or the e5 engine load)
