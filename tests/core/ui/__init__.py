"""Tests of the web UI's server side."""
