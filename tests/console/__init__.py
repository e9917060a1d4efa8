"""Tests of the agent console and analyst dashboards."""
