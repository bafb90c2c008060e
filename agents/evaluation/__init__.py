"""The agent evaluation harness: task sets, a runner over the real agent graph, metrics and reports.

    tasks.py    load and validate JSONL task sets (tasksets/dev.jsonl and tasksets/test.jsonl ship with the project)
    trace.py    what one run did: nodes, plan, tool calls, tokens, latency (from the graph's events)
    runner.py   run every task through the agent graph, with timeouts, repeats and resume
    metrics.py  deterministic per-task and aggregate metrics
    judge.py    the optional LLM groundedness judge (reported separately)
    report.py   report.json, report.md and the baseline comparison; plots.py its PNGs
"""
