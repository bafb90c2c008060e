"""What the pages share: the API client, media links, time labels and the cited-source viewer."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps

import httpx
import streamlit as st

from core.types import format_timestamp
from ui.client import ApiError, ArgusClient


@st.cache_resource(show_spinner=False)
def _client(base_url: str, api_key: str) -> ArgusClient:
    return ArgusClient(base_url, api_key)


def api() -> ArgusClient:
    """The process-wide client for the configured API (keyed by URL and key, so tests can switch)."""
    return _client(os.environ.get("ARGUS_UI_API_URL", ""), os.environ.get("ARGUS_UI_API_KEY", ""))


def media_url(client: ArgusClient, source_id: int) -> str:
    """Where the browser streams the source from: a signed link to the API (a <video> tag cannot
    send a bearer key), fetched by range requests as the player needs them; the UI process never
    holds the file. ARGUS_UI_MEDIA_URL is the API's address as the browser sees it, when that
    differs from the UI's own (a container network)."""
    base = (os.environ.get("ARGUS_UI_MEDIA_URL") or client.base_url).rstrip("/")
    return base + client.media_link(source_id)


@st.cache_data(max_entries=256, show_spinner=False)
def keyframe_bytes(base_url: str, source_id: int, keyframe_id: int) -> bytes:
    return api().keyframe(source_id, keyframe_id)


def timestamp(seconds: float | None) -> str:
    return "" if seconds is None else format_timestamp(seconds)


def duration(seconds: float | None) -> str:
    return timestamp(seconds) if seconds else ""


def show_player(source_id: int, source_type: str, start: float, keyframe_id: int | None = None) -> None:
    """The source's video (or audio) at `start` seconds, with the keyframe beside it."""
    client = api()
    data = media_url(client, source_id)
    second = int(start)  # the player seeks to the cited second, as the mm:ss label shows it
    if source_type == "audio":
        st.audio(data, start_time=second)
        return
    if keyframe_id is None:
        st.video(data, start_time=second)
        return
    player, still = st.columns([3, 1])
    with player:
        st.video(data, start_time=second)
    with still:
        st.image(keyframe_bytes(client.base_url, source_id, keyframe_id), caption=f"keyframe at {timestamp(start)}")


def show_citation(citation: dict) -> None:
    """A video or audio citation opens the player at its second; a document one shows its page text."""
    with st.container(border=True):
        st.markdown(f"**{citation['label']}**")
        if citation.get("t0") is not None and citation["type"] in ("video", "audio"):
            with api_errors_shown():
                show_player(citation["source_id"], citation["type"], citation["t0"], citation.get("keyframe_id"))
            st.caption(citation["text"])
        else:
            where = f"page {citation['page']}" if citation.get("page") else "passage"
            st.caption(where)
            st.markdown(citation["text"])


def api_error(exc: ApiError) -> None:
    if exc.status in (401, 403):
        st.error(f"The API refused the request ({exc.status}: {exc.detail}). Set a key with the needed "
                 "scope in ARGUS_UI_API_KEY (`argus keys create ui --scope admin`).")
    else:
        st.error(f"The API answered {exc.status}: {exc.detail}")


def unreachable(client: ArgusClient) -> None:
    st.error(f"No Argus API answers at {client.base_url}. Start it with `argus serve` "
             "(or run `argus ui`, which starts one when none answers).")


@contextmanager
def api_errors_shown() -> Iterator[None]:
    """An API error inside the block becomes a message in its place, not a traceback on the page."""
    try:
        yield
    except ApiError as exc:
        api_error(exc)
    except httpx.HTTPError as exc:
        st.error(f"The API at {api().base_url} could not be reached: {exc}")


def guarded(page: Callable[[], None]) -> Callable[[], None]:
    """`page` with any API error it does not handle itself shown as a message."""
    @wraps(page)
    def run() -> None:
        with api_errors_shown():
            page()
    return run
