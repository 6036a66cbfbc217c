"""Tests of reading the exposition back and of the words the pages use."""

from __future__ import annotations

import math

import pytest

from exporterhub.core.ui.samples import parse_exposition, parse_sample, unit_of
from exporterhub.core.ui.view import ago, display, flat_settings


class TestParseSample:
    """One sample line in, its name, labels and value out; junk is None."""

    @pytest.mark.parametrize(
        ("line", "labels"),
        [
            pytest.param('m{a="x\\"y"} 1', (("a", 'x"y'),), id="quote"),
            pytest.param('m{a="x\\\\y"} 1', (("a", "x\\y"),), id="backslash"),
            pytest.param('m{a="x\\ny"} 1', (("a", "x\ny"),), id="newline"),
            pytest.param('m{a="{} ,="} 1', (("a", "{} ,="),), id="braces-inside"),
        ],
    )
    def test_escaped_label_values(self, line, labels):
        """Label values are unescaped as the text format escapes them."""
        sample = parse_sample(line)
        assert sample is not None
        assert sample.labels == labels

    @pytest.mark.parametrize(
        "line",
        [
            pytest.param("", id="blank"),
            pytest.param("# TYPE m gauge", id="comment"),
            pytest.param("m", id="no-value"),
            pytest.param('m{a="x"', id="unclosed"),
            pytest.param('m{a="x"} ', id="empty-value"),
            pytest.param("m one", id="not-a-number"),
        ],
    )
    def test_junk_is_none(self, line):
        """A line that is not a sample reads as nothing."""
        assert parse_sample(line) is None

    def test_special_values(self):
        """NaN and infinities are read as floats."""
        assert math.isnan(parse_sample("m NaN").value)
        assert parse_sample("m +Inf").value == math.inf


class TestParseExposition:
    """Families keep their help and type; counters own their _total samples."""

    def test_counter_samples_join_their_family(self):
        """A counter written without _total in its header still owns the sample."""
        text = "# HELP c Things.\n# TYPE c counter\nc_total 3.0\nstray 1\n# HELP\n"
        families = parse_exposition(text)
        assert [(f.name, f.type, len(f.samples)) for f in families] == [
            ("c", "counter", 1),
            ("stray", "untyped", 1),
        ]


class TestWords:
    """Values, ages and settings as people read them."""

    @pytest.mark.parametrize(
        ("value", "unit", "text"),
        [
            pytest.param(1e9, "bits/s", "1 Gbit/s", id="bits"),
            pytest.param(512.0, "bytes", "512 B", id="small-bytes"),
            pytest.param(-math.inf, "", "-Inf", id="minus-inf"),
            pytest.param(0.0, "timestamp", "never", id="zero-time"),
            pytest.param(12.5, "W", "12.5 W", id="unit"),
            pytest.param(1e20, "", "1e+20", id="huge"),
        ],
    )
    def test_display(self, value, unit, text):
        """Each unit reads naturally."""
        assert display(value, unit) == text

    @pytest.mark.parametrize(
        ("seconds", "text"),
        [
            pytest.param(0.5, "just now", id="now"),
            pytest.param(90, "1 min ago", id="minutes"),
            pytest.param(3 * 86400, "3 d ago", id="days"),
        ],
    )
    def test_ago(self, seconds, text):
        """Ages are rounded down to their largest unit."""
        assert ago(1000.0, 1000.0 + seconds) == text

    def test_flat_settings_lists_and_booleans(self):
        """Lists are numbered, booleans are yes/no, empty objects say none."""
        rows = flat_settings(
            {"on": False, "w": [{"lat": 1}], "e": {}, "s": None}, {"w.0.key": False}
        )
        assert rows == [
            ("on", "no"),
            ("w.0.lat", "1"),
            ("e", "(none)"),
            ("s", "(none)"),
        ]

    def test_units_from_names(self):
        """Units come from the name's suffix; counters drop their _total first."""
        assert unit_of("a_bytes_total") == "bytes"
        assert unit_of("a_last_success_timestamp_seconds") == "timestamp"
        assert unit_of("a_throughput_mbps") == "Mbit/s"
