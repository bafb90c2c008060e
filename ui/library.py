"""Library page: the sources, each with its transcript (clickable timestamps), keyframes and chunks;
upload and ingest with a progress bar; delete."""

from __future__ import annotations

import time

import streamlit as st

from ui.client import ApiError, ArgusClient
from ui.common import (
    api,
    api_error,
    api_errors_shown,
    duration,
    keyframe_bytes,
    show_player,
    timestamp,
    unreachable,
)

POLL_S = 1.0  # the API rate-limits each client (120 requests a minute by default)
INGEST_TIMEOUT_S = 3600
FINISHED = ("done", "failed", "skipped")


def main() -> None:
    st.title("Library")
    client = api()
    if not client.healthy():
        unreachable(client)
        return
    upload_form(client)  # first, so that the table below lists what it ingested
    try:
        sources, jobs = client.sources(), client.jobs()
    except ApiError as exc:
        api_error(exc)
        return
    if not sources:
        st.info("The knowledge base is empty: upload videos, audio or documents above.")
        return
    st.dataframe(source_rows(sources, jobs), hide_index=True)
    names = {s["id"]: f"{s['name']} (#{s['id']}, {s['type']})" for s in sources}
    chosen = st.selectbox("Source", list(names), format_func=names.get, key="library-source")
    if chosen is not None:
        source_detail(client, chosen)


def source_rows(sources: list[dict], jobs: list[dict]) -> list[dict]:
    latest = {}  # source id -> its newest job (jobs come newest first)
    for job in jobs:
        if job.get("source_id") is not None:
            latest.setdefault(job["source_id"], job)
    return [{"id": s["id"], "name": s["name"], "type": s["type"], "duration": duration(s.get("duration_s")),
             "language": s.get("language") or "", "status": latest.get(s["id"], {}).get("status", "done"),
             "segments": s["counts"].get("segment", 0), "keyframes": s["counts"].get("keyframe", 0),
             "chunks": s["counts"].get("chunk", 0)} for s in sources]


# ---------------------------------------------------------------- one source


def source_detail(client: ArgusClient, source_id: int) -> None:
    try:
        detail = client.source(source_id)
    except ApiError as exc:
        api_error(exc)
        return
    source = detail["source"]
    if source["type"] in ("video", "audio"):
        seek = st.session_state.get("library-seek", {})
        start = seek.get("t", 0.0) if seek.get("source_id") == source_id else 0.0
        with api_errors_shown():  # the transcript and chunks below still show
            show_player(source_id, source["type"], start)
    tabs = st.tabs([f"Transcript ({len(detail['transcript'])})", f"Keyframes ({len(detail['keyframes'])})",
                    f"Chunks ({len(detail['chunks'])})"])
    with tabs[0]:
        transcript(source_id, detail["transcript"])
    with tabs[1]:
        keyframes(client, source_id, detail["keyframes"])
    with tabs[2]:
        for chunk in detail["chunks"]:
            where = " · ".join(p for p in (f"p. {chunk['page']}" if chunk.get("page") else "",
                                           chunk.get("heading") or "") if p)
            st.markdown(f"**#{chunk['ordinal']}** {where}")
            st.text(chunk["text"])
        if not detail["chunks"]:
            st.caption("No text chunks (documents have them).")
    delete_button(client, source)


def _seek(source_id: int, t: float) -> None:
    st.session_state["library-seek"] = {"source_id": source_id, "t": t}


def transcript(source_id: int, segments: list[dict]) -> None:
    if not segments:
        st.caption("No transcript (media sources have one).")
    for segment in segments:
        stamp, text = st.columns([1, 6])
        stamp.button(timestamp(segment["t0"]), key=f"seg-{segment['id']}", type="tertiary",
                     on_click=_seek, args=(source_id, segment["t0"]), help="Play from here")
        text.markdown(segment["text"])


def keyframes(client: ArgusClient, source_id: int, frames: list[dict]) -> None:
    if not frames:
        st.caption("No keyframes (videos have them).")
    columns = st.columns(3)
    for i, frame in enumerate(frames):
        with columns[i % 3]:
            st.image(keyframe_bytes(client.base_url, source_id, frame["id"]))
            tags = ", ".join(t["label"] for t in frame.get("tags", []))
            objects = ", ".join(sorted({o["label"] for o in frame.get("objects", [])}))
            st.caption(" · ".join(p for p in (timestamp(frame["t"]), tags, objects) if p))
            st.button("Play from here", key=f"kf-{frame['id']}", type="tertiary", on_click=_seek,
                      args=(source_id, frame["t"]))


def delete_button(client: ArgusClient, source: dict) -> None:
    with st.expander("Delete this source"):
        sure = st.checkbox(f"Remove {source['name']} from the knowledge base", key=f"sure-{source['id']}")
        if st.button("Delete", key=f"delete-{source['id']}", disabled=not sure, icon=":material/delete:"):
            try:
                client.delete_source(source["id"])
            except ApiError as exc:
                api_error(exc)
                return
            st.session_state.pop("library-source", None)
            st.toast(f"Deleted {source['name']}")
            st.rerun()


# ---------------------------------------------------------------- upload and ingest


def upload_form(client: ArgusClient) -> None:
    with st.expander("Upload and ingest", expanded=False):
        files = st.file_uploader("Videos, audio or documents", accept_multiple_files=True, key="upload-files")
        if st.button("Ingest", key="ingest", disabled=not files, type="primary", icon=":material/upload:"):
            try:
                accepted = client.upload([(f.name, f.getvalue()) for f in files])
            except ApiError as exc:
                api_error(exc)
                return
            for refused in accepted.get("rejected", []):
                st.warning(f"{refused['path']}: {refused['reason']}")
            final = follow_jobs(client, [job["id"] for job in accepted["jobs"]])
            for job in final:
                if job["status"] == "failed":
                    st.error(f"{job['path'].rsplit('/', 1)[-1]}: {job['error']}")
            st.success(f"Ingested: {sum(j['status'] == 'done' for j in final)} done, "
                       f"{sum(j['status'] == 'skipped' for j in final)} already there, "
                       f"{sum(j['status'] == 'failed' for j in final)} failed")


def follow_jobs(client: ArgusClient, job_ids: list[int]) -> list[dict]:
    """Poll `/v1/jobs/{id}` until every job finishes, with one progress bar for the batch."""
    bar = st.progress(0.0, text="Queued…")
    deadline = time.monotonic() + INGEST_TIMEOUT_S
    latest: dict[int, dict] = {}
    while True:
        # A finished job is not asked for again: each poll is a request against the rate limit.
        latest.update({i: client.job(i) for i in job_ids if latest.get(i, {}).get("status") not in FINISHED})
        jobs = [latest[i] for i in job_ids]
        finished = [j for j in jobs if j["status"] in FINISHED]
        running = [j for j in jobs if j["status"] == "running"]
        fraction = (len(finished) + sum(j["progress"] for j in running)) / len(jobs)
        label = (f"{running[0]['path'].rsplit('/', 1)[-1]}: {running[0]['stage']}" if running
                 else f"{len(finished)} of {len(jobs)} files")
        bar.progress(min(fraction, 1.0), text=label)
        if len(finished) == len(jobs) or time.monotonic() > deadline:
            return jobs
        time.sleep(POLL_S)
