"""Tests of the web UI in a real headless Chromium against a real server."""
