"""The chat LLM: engines and the one client interface Argus uses.

- `client` (+ `constrained`): `get_chat_model`, `structured`, `choose`, `PromptTooLong` — what agents and tools use;
- `server`: the local engine manager (`start`, `stop`, `status`, `ensure_running`), whichever engine;
- `engine_llamacpp`, `engine_vllm` (+ `launch_vllm`): each engine's command line; `engine_base`: their contract;
- `llamacpp_build`, `cpu`, `processes`: the llama-server build, cores and CPU flags, /proc helpers;
- `inprocess`: the transformers fallback (`ARGUS_LLM_BACKEND=inprocess`);
- `budget` (+ `server_tokens`), `parsing`, `usage`: context-window checks, output clean-up, token accounting.

Nothing is imported here, so that `models.llm.server` stays cheap to import.
"""
