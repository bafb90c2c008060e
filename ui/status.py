"""Status page: which models and engines are real or absent (`argus doctor`), readiness, base
statistics, and the latest agent evaluation."""

from __future__ import annotations

import time

import streamlit as st

from ui.client import ApiError
from ui.common import api, api_error, duration, unreachable

SUMMARY_FIGURES = ("pass_rate", "fact_recall", "citation_precision", "refusal_accuracy")
# Plain text symbols, not emoji: a browser without a colour-emoji font (headless Chromium on a
# server) draws ✅ and ⚪ as empty boxes; these have glyphs in DejaVu Sans.
OK, FAILED, ABSENT, WARNING = "✓", "✗", "○", "⚠"
MARKS = (OK, FAILED, ABSENT, WARNING)


def main() -> None:
    st.title("Status")
    client = api()
    if not client.healthy():
        unreachable(client)
        return
    st.caption(f"API: {client.base_url}")
    readiness()
    try:
        status = client.status()
    except ApiError as exc:
        api_error(exc)
        status = None
    if status is not None:
        base_statistics(status["stats"])
        doctor(status["doctor"])
    latest_evaluation()


def readiness() -> None:
    ready = api().readiness()
    st.subheader("Readiness " + (OK if ready.get("ready") else WARNING))
    st.dataframe([{"check": name, "ok": OK if c["ok"] else FAILED, "detail": c["detail"]}
                  for name, c in ready.get("checks", {}).items()], hide_index=True)


def base_statistics(stats: dict) -> None:
    st.subheader("Knowledge base")
    columns = st.columns(5)
    columns[0].metric("sources", stats["sources"])
    columns[1].metric("media time", duration(stats["duration_s"]) or "0")
    columns[2].metric("transcript segments", stats["rows"].get("segment", 0))
    columns[3].metric("keyframes", stats["rows"].get("keyframe", 0))
    columns[4].metric("document chunks", stats["rows"].get("chunk", 0))
    by_type = ", ".join(f"{n} {kind}" for kind, n in sorted(stats["by_type"].items())) or "none"
    jobs = ", ".join(f"{n} {state}" for state, n in sorted(stats["jobs"].items())) or "none"
    st.caption(f"Sources: {by_type} · jobs: {jobs} · index version: {stats.get('index_version') or 'none'}")


def doctor(report: dict) -> None:
    st.subheader("Models")
    st.caption(f"ARGUS_HOME: {report['home']}")
    st.dataframe([{"role": m["role"], "state": f"{OK} real" if m["state"] == "real" else f"{ABSENT} absent",
                   "model": m["title"], "source": m["source"],
                   "detail / fix": m["fix"] if m["state"] != "real" and m["fix"] else (m["path"] or m["detail"])}
                  for m in report["models"]], hide_index=True)
    for title, rows in (("Engines", report["engines"]), ("System tools", report["system"])):
        st.subheader(title)
        st.dataframe([{"name": c["name"], "state": {"ok": f"{OK} ok", "absent": f"{ABSENT} absent", "failed": f"{FAILED} failed"}.get(c["state"], c["state"]),
                       "detail": c["detail"] + (f" — fix: {c['fix']}" if c["fix"] else "")} for c in rows],
                     hide_index=True)


def latest_evaluation() -> None:
    st.subheader("Agent evaluation")
    try:
        runs = api().eval_runs()
    except ApiError as exc:
        api_error(exc)
        return
    if not runs:
        st.info("No evaluation run yet.")
        return
    latest = runs[0]
    summary = latest.get("summary") or {}
    created = latest.get("created")
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(created)) if isinstance(created, int | float) else created
    st.caption(f"Run {latest.get('id')} · {when} · {len(runs)} run(s) in all")
    shown = [k for k in SUMMARY_FIGURES if k in summary] or [k for k, v in summary.items()
                                                             if isinstance(v, int | float)][:5]
    columns = st.columns(max(len(shown), 1))
    for column, key in zip(columns, shown, strict=False):
        value = summary[key]
        column.metric(key.replace("_", " "), f"{value:.0%}" if isinstance(value, float) and value <= 1 else value)
    with st.expander("Full summary"):
        st.json(summary)
