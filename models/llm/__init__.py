"""The chat LLM: engines and the one client interface Argus uses.

- `client`: `get_chat_model`, `structured`, `choose`, `PromptTooLong` — what agents and tools use;
- `server`: the local vLLM server (`start`, `stop`, `status`, `ensure_running`);
- `inprocess`: the transformers fallback (`ARGUS_LLM_BACKEND=inprocess`);
- `budget`, `parsing`, `usage`: context-window checks, output clean-up, token accounting;
- `launch_vllm`: the launcher the server runs (`python models/llm/launch_vllm.py serve ...`).

Nothing is imported here, so that `models.llm.server` stays cheap to import.
"""
