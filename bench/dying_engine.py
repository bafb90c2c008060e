"""A stand-in LLM engine for the fault campaign: an OpenAI-compatible server on loopback that
streams a few tokens of an answer and then SIGKILLs itself, mid-answer.

    python bench/dying_engine.py PORT MODEL_ID

It answers /v1/models (so the API's health check passes) and /v1/chat/completions, streamed
or not; either way the process dies after the first tokens, as an engine killed by the OOM
killer or an operator would.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # chunked bodies, as vLLM's server sends: a kill leaves one incomplete

    def log_message(self, *args) -> None:
        pass

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _json(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        if self.path.rstrip("/").endswith("/models"):
            self._json({"object": "list", "data": [{"id": MODEL, "object": "model", "max_model_len": 4096}]})
        else:
            self.send_response(200)
            self.end_headers()

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("content-length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        self.send_response(200)
        if request.get("stream"):
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for word in ("The", " harbour", " crane"):
                chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": MODEL,
                         "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
                self._chunk(f"data: {json.dumps(chunk)}\n\n".encode())
                time.sleep(0.2)
        else:
            self.send_header("content-type", "application/json")
            self.send_header("content-length", "4096")
            self.end_headers()
            self.wfile.write(b'{"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {"role"')
            self.wfile.flush()
            time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGKILL)  # killed mid-answer


if __name__ == "__main__":
    PORT, MODEL = int(sys.argv[1]), sys.argv[2]
    ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
