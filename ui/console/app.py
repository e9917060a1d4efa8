"""deskpilot console: ``streamlit run ui/console/app.py`` (or ``deskpilot console``).

Sign in first; then the pages your role may use: agents draft and send replies, analysts read the
dashboards, admins see everything plus the index, flags and API keys.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui.api.roles import Role
from ui.console import auth
from ui.console.settings import ConsoleSettings

PAGES = Path(__file__).resolve().parent / "pages"


def main() -> None:
    """Sign-in, then the navigation of the signed-in role."""
    st.set_page_config(
        page_title="deskpilot console",
        # An emoji favicon is drawn in the page; a :material/ one is fetched from fonts.gstatic.com.
        page_icon="🎧",
        layout="wide",
        initial_sidebar_state="collapsed",
    )
    identity = auth.current()
    if identity is None:
        st.navigation([st.Page(auth.login_view, title="Sign in", icon=":material/login:")], position="hidden").run()
        return
    agent = st.Page(PAGES / "agent.py", title="Inbox", icon=":material/inbox:", url_path="inbox")
    analyst = st.Page(PAGES / "analyst.py", title="Dashboard", icon=":material/monitoring:", url_path="dashboard")
    admin = st.Page(
        PAGES / "admin.py",
        title="Admin",
        icon=":material/admin_panel_settings:",
        url_path="admin",
        default=identity.role == Role.admin,
    )
    pages = {
        Role.agent: [agent],
        Role.analyst: [analyst],
        Role.admin: [agent, analyst, admin],
    }[identity.role]
    navigation = st.navigation(pages, position="top" if len(pages) > 1 else "hidden")
    header(identity)
    navigation.run()


def header(identity: auth.Identity) -> None:
    """Who is signed in, a demo-users warning, and Sign out, in one slim row."""
    scope = "all tenants" if identity.all_tenants else identity.tenant
    with st.container(horizontal=True, vertical_alignment="center", horizontal_alignment="right", gap="small"):
        if ConsoleSettings().demo_users_active():
            st.caption(":orange[:material/warning: demo users active — set DESKPILOT_CONSOLE_USERS]")
        st.caption(f":material/person: **{identity.name or identity.username}** · {identity.role.value} · {scope}")
        st.button("Sign out", key="sign_out", on_click=auth.sign_out, icon=":material/logout:", type="tertiary")


main()
