"""The ground every layer stands on: the settings and the data types that cross folders.

It imports nothing of the project; every other package may import it.
"""

import os

# OpenMP threads (FAISS, the e5 engine, ONNX Runtime) spin while they wait for work unless
# told otherwise. On a shared CPU the spinning costs more than the work: one 15-token query
# embedding took 1.1 CPU-seconds instead of 25 ms (docs/eval/retrieval/report.md). This
# must be set before those libraries load; a value the user set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
