"""Tests of metric tables and the fast sample renderer."""

from __future__ import annotations

import platform

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.utils import floatToGoString

from exporterhub.core.metrics import (
    Kind,
    MetricSpec,
    build_info,
    family_header,
    format_value,
    label_block,
    one,
    render_samples,
    validate_table,
)


def _spec(name="m", kind=Kind.GAUGE, samples=(), labels=(), help="Some help."):
    return MetricSpec(
        name=name,
        help=help,
        kind=kind,
        value_fn=lambda _source: list(samples),
        labels=labels,
    )


class TestRenderSamples:
    """One spec's lines for one target, in the text exposition syntax."""

    @pytest.mark.parametrize(
        ("value", "escaped"),
        [
            pytest.param("a\\b", "a\\\\b", id="backslash"),
            pytest.param('say "hi"', 'say \\"hi\\"', id="double-quote"),
            pytest.param("two\nlines", "two\\nlines", id="newline"),
            pytest.param('\\"\n', '\\\\\\"\\n', id="all-three"),
            pytest.param("it's ok", "it's ok", id="single-quote-untouched"),
            pytest.param("µ°☃", "µ°☃", id="unicode-untouched"),
        ],
    )
    def test_label_value_escaping(self, value, escaped):
        """Backslash, double quote and newline in label values are escaped."""
        spec = _spec(samples=[((value,), 1.0)], labels=("axis",))
        line = render_samples(spec, None, 'host="h"').decode()
        assert line == f'm{{host="h",axis="{escaped}"}} 1.0\n'

    @pytest.mark.parametrize(
        ("identity", "labels", "samples", "expected"),
        [
            pytest.param("", (), [((), 2.0)], "m 2.0\n", id="no-labels"),
            pytest.param(
                'host="h"', (), [((), 2.0)], 'm{host="h"} 2.0\n', id="identity-only"
            ),
            pytest.param(
                "", ("axis",), [(("ra",), 2.0)], 'm{axis="ra"} 2.0\n', id="extra-only"
            ),
            pytest.param(
                'host="h",inst="1"',
                ("axis", "kind"),
                [(("ra", "raw"), 1.5), (("dec", "raw"), -0.5)],
                'm{host="h",inst="1",axis="ra",kind="raw"} 1.5\n'
                'm{host="h",inst="1",axis="dec",kind="raw"} -0.5\n',
                id="identity-and-extra-two-series",
            ),
        ],
    )
    def test_label_combinations(self, identity, labels, samples, expected):
        """Identity labels come first, then the spec's labels, braces only if any."""
        spec = _spec(samples=samples, labels=labels)
        assert render_samples(spec, None, identity).decode() == expected

    def test_no_samples_renders_nothing(self):
        """A spec with no value for the target renders the empty bytes."""
        assert render_samples(_spec(samples=[]), None, 'host="h"') == b""

    def test_value_fn_reads_the_source(self):
        """The value function receives the given source object."""
        spec = MetricSpec(
            name="m", help="h.", kind=Kind.GAUGE, value_fn=lambda s: one(s["v"])
        )
        assert render_samples(spec, {"v": 4}, "") == b"m 4.0\n"

    def test_label_count_mismatch_raises(self):
        """A value function yielding the wrong number of label values fails loudly."""
        spec = _spec(samples=[(("a", "b"), 1.0)], labels=("axis",))
        with pytest.raises(ValueError, match="label value"):
            render_samples(spec, None, "")

    def test_special_values(self):
        """Infinities and NaN render in the exposition spelling."""
        spec = _spec(
            samples=[
                (("p",), float("inf")),
                (("n",), float("-inf")),
                (("x",), float("nan")),
            ],
            labels=("k",),
        )
        assert render_samples(spec, None, "").decode() == (
            'm{k="p"} +Inf\nm{k="n"} -Inf\nm{k="x"} NaN\n'
        )


class TestFormatValue:
    """Sample values are written as prometheus_client writes them."""

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            pytest.param(1.0, "1.0", id="one"),
            pytest.param(0, "0.0", id="int-zero"),
            pytest.param(-0.0, "-0.0", id="negative-zero"),
            pytest.param(3, "3.0", id="int"),
            pytest.param(True, "1.0", id="bool"),
            pytest.param(-2.5, "-2.5", id="negative"),
            pytest.param(1e-7, "1e-07", id="tiny"),
            pytest.param(0.1, "0.1", id="shortest-repr"),
            pytest.param(float("inf"), "+Inf", id="plus-inf"),
            pytest.param(float("-inf"), "-Inf", id="minus-inf"),
            pytest.param(float("nan"), "NaN", id="nan"),
        ],
    )
    def test_cases(self, value, expected):
        """Special values use +Inf/-Inf/NaN; others the shortest float repr."""
        assert format_value(value) == expected

    @pytest.mark.parametrize(
        "value",
        [
            pytest.param(0.0, id="zero"),
            pytest.param(42.0, id="small"),
            pytest.param(-1234567.5, id="large-negative"),
            pytest.param(123456.0, id="six-digits"),
            pytest.param(float("inf"), id="inf"),
            pytest.param(1e22, id="repr-already-exponent"),
            pytest.param(
                1234567.0,
                id="seven-digits",
            ),
            pytest.param(
                1_700_000_000.0,
                id="unix-timestamp",
            ),
        ],
    )
    def test_matches_prometheus_client(self, value):
        """format_value agrees with prometheus_client's floatToGoString."""
        assert format_value(value) == floatToGoString(value)


class TestFamilyHeader:
    """HELP/TYPE lines per kind and format."""

    @pytest.mark.parametrize(
        ("name", "kind", "openmetrics", "expected"),
        [
            pytest.param(
                "x_temp",
                Kind.GAUGE,
                False,
                "# HELP x_temp H.\n# TYPE x_temp gauge\n",
                id="gauge-text",
            ),
            pytest.param(
                "x_temp",
                Kind.GAUGE,
                True,
                "# HELP x_temp H.\n# TYPE x_temp gauge\n",
                id="gauge-openmetrics",
            ),
            pytest.param(
                "x_steps_total",
                Kind.COUNTER,
                False,
                "# HELP x_steps_total H.\n# TYPE x_steps_total counter\n",
                id="counter-text-keeps-total",
            ),
            pytest.param(
                "x_steps_total",
                Kind.COUNTER,
                True,
                "# HELP x_steps H.\n# TYPE x_steps counter\n",
                id="counter-openmetrics-drops-total",
            ),
            pytest.param(
                "x_build_info",
                Kind.INFO,
                False,
                "# HELP x_build_info H.\n# TYPE x_build_info gauge\n",
                id="info-text-is-gauge",
            ),
            pytest.param(
                "x_build_info",
                Kind.INFO,
                True,
                "# HELP x_build H.\n# TYPE x_build info\n",
                id="info-openmetrics-drops-info",
            ),
        ],
    )
    def test_headers(self, name, kind, openmetrics, expected):
        """Each kind gets the family name and type its format requires."""
        spec = _spec(name=name, kind=kind, help="H.")
        assert family_header(spec, openmetrics=openmetrics).decode() == expected

    @pytest.mark.parametrize(
        "openmetrics",
        [pytest.param(False, id="text"), pytest.param(True, id="openmetrics")],
    )
    def test_help_escaping(self, openmetrics):
        """Backslashes and newlines in help text are escaped."""
        spec = _spec(help="a\\b\nc")
        assert family_header(spec, openmetrics=openmetrics).decode().splitlines()[
            0
        ] == ("# HELP m a\\\\b\\nc")

    def test_text_help_keeps_double_quotes(self):
        """The 0.0.4 text format writes double quotes in help text unescaped."""
        spec = _spec(help='the "quoted" word')
        assert family_header(spec, openmetrics=False).startswith(
            b'# HELP m the "quoted" word\n'
        )

    def test_openmetrics_help_escapes_double_quotes(self):
        """OpenMetrics help text escapes double quotes as prometheus_client does."""
        spec = _spec(help='the "quoted" word')
        assert family_header(spec, openmetrics=True).startswith(
            b'# HELP m the \\"quoted\\" word\n'
        )

    @pytest.mark.parametrize(
        "openmetrics",
        [pytest.param(False, id="text"), pytest.param(True, id="openmetrics")],
    )
    def test_header_is_cached_on_the_spec(self, openmetrics):
        """``MetricSpec.header`` returns the same bytes family_header computes."""
        spec = _spec(name="x_total", kind=Kind.COUNTER)
        assert spec.header(openmetrics) == family_header(spec, openmetrics=openmetrics)
        assert spec.header(openmetrics) is spec.header(openmetrics)


class TestMetricSpec:
    """Table rows check the naming rules of their kind."""

    @pytest.mark.parametrize(
        ("name", "kind", "message"),
        [
            pytest.param("x_steps", Kind.COUNTER, "_total", id="counter-no-total"),
            pytest.param("x_total_steps", Kind.COUNTER, "_total", id="total-inside"),
            pytest.param("x_build", Kind.INFO, "_info", id="info-no-info"),
            pytest.param("x_info_total", Kind.INFO, "_info", id="info-ends-total"),
        ],
    )
    def test_rejects_bad_suffix(self, name, kind, message):
        """Counters must end in _total and info families in _info."""
        with pytest.raises(ValueError, match=message):
            _spec(name=name, kind=kind)

    @pytest.mark.parametrize(
        ("name", "kind"),
        [
            pytest.param("x_steps_total", Kind.COUNTER, id="counter"),
            pytest.param("x_build_info", Kind.INFO, id="info"),
            pytest.param("x_anything", Kind.GAUGE, id="gauge-free-name"),
        ],
    )
    def test_accepts_good_names(self, name, kind):
        """Well-named rows are accepted and keep their name."""
        assert _spec(name=name, kind=kind).name == name

    def test_specs_compare_without_header_cache(self):
        """Two equal rows compare equal (the header cache is not part of equality)."""
        fn = one
        first = MetricSpec(name="m", help="h.", kind=Kind.GAUGE, value_fn=fn)
        second = MetricSpec(name="m", help="h.", kind=Kind.GAUGE, value_fn=fn)
        assert first == second
        assert first != MetricSpec(name="n", help="h.", kind=Kind.GAUGE, value_fn=fn)


class TestValidateTable:
    """A table may not expose one family twice."""

    def test_duplicates_rejected(self):
        """Two rows with one name raise ValueError naming the family."""
        with pytest.raises(ValueError, match="duplicate metric family x_a"):
            validate_table([_spec(name="x_a"), _spec(name="x_b"), _spec(name="x_a")])

    def test_distinct_names_pass(self):
        """A table of distinct names validates."""
        validate_table([_spec(name="x_a"), _spec(name="x_b")])  # raises if rejected

    def test_empty_table_passes(self):
        """The empty table is valid."""
        validate_table([])  # raises if rejected


class TestOne:
    """``one`` turns an optional scalar into zero or one sample."""

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            pytest.param(None, [], id="none-is-no-sample"),
            pytest.param(0, [((), 0.0)], id="zero-is-a-sample"),
            pytest.param(False, [((), 0.0)], id="false-is-zero"),
            pytest.param(True, [((), 1.0)], id="true-is-one"),
            pytest.param(2.5, [((), 2.5)], id="float"),
        ],
    )
    def test_cases(self, value, expected):
        """None yields nothing; any other value one float sample."""
        samples = list(one(value))
        assert samples == expected
        assert all(type(v) is float for _, v in samples)


class TestLabelBlock:
    """``label_block`` joins escaped pairs in order, without braces."""

    def test_order_and_escaping(self):
        """Pairs keep their order and values are escaped."""
        assert label_block([("b", 'x"y'), ("a", "1")]) == 'b="x\\"y",a="1"'

    def test_empty(self):
        """No pairs give the empty string."""
        assert label_block([]) == ""


class TestBuildInfo:
    """``build_info`` registers a constant 1 with version labels."""

    def test_registers_on_the_given_registry(self):
        """The gauge is 1 with version, revision and python_version labels."""
        registry = CollectorRegistry()
        build_info(registry, name="x_build_info", version="1.2.3", revision="abc")
        labels = {
            "version": "1.2.3",
            "revision": "abc",
            "python_version": platform.python_version(),
        }
        assert registry.get_sample_value("x_build_info", labels) == 1.0

    def test_does_not_touch_the_global_registry(self):
        """Building info on a private registry leaves the default registry alone."""
        from prometheus_client import REGISTRY

        build_info(
            CollectorRegistry(), name="x_private_info", version="1", revision="r"
        )
        assert (
            REGISTRY.get_sample_value(
                "x_private_info",
                {
                    "version": "1",
                    "revision": "r",
                    "python_version": platform.python_version(),
                },
            )
            is None
        )
