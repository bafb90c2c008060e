"""The Argus web UI: `argus ui` (or `streamlit run ui/streamlit_app.py` with ARGUS_UI_API_URL set).

Named streamlit_app.py, not app.py: Streamlit puts this folder first on sys.path, and a
module called `app` would hide the project's `app` package.
"""

import streamlit as st

from ui import chat, library, status
from ui.common import guarded

st.set_page_config(page_title="Argus", page_icon=":material/visibility:", layout="wide")
page = st.navigation([
    st.Page(guarded(chat.main), title="Chat", icon=":material/chat:", url_path="chat", default=True),
    st.Page(guarded(library.main), title="Library", icon=":material/video_library:", url_path="library"),
    st.Page(guarded(status.main), title="Status", icon=":material/monitor_heart:", url_path="status"),
])
page.run()
