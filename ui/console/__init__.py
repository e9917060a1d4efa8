"""The agent console and analyst dashboards (Streamlit): ``streamlit run ui/console/app.py``."""

from pathlib import Path

ENTRY = Path(__file__).resolve().with_name("app.py")
"""The Streamlit entry script."""
