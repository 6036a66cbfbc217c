"""What every dashboard shares: the data source, template variables and panel helpers.

Built on grafana-foundation-sdk's typed builders, so a panel or variable that the
SDK's Grafana schema does not know fails here, not in Grafana. Every query is a
Prometheus query on the ``${datasource}`` variable. This module holds no series
names of its own: each exporter's module names its series (from
docs/metrics/<kind>.md) and passes them in.
"""

from __future__ import annotations

from collections.abc import Sequence

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus as pb
from grafana_foundation_sdk.builders import stat as sb
from grafana_foundation_sdk.builders import statetimeline as stb
from grafana_foundation_sdk.builders import table as tb
from grafana_foundation_sdk.builders import timeseries as tsb
from grafana_foundation_sdk.cog import builder as cog
from grafana_foundation_sdk.cog.variants import Dataquery
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import prometheus as pm

__all__ = [
    "DATASOURCE",
    "Item",
    "annotation",
    "base",
    "label_variable",
    "layout",
    "query",
    "row",
    "stat",
    "state_timeline",
    "table",
    "thresholds",
    "timeseries",
]

DATASOURCE = dm.DataSourceRef(type_val="prometheus", uid="${datasource}")
"""Every panel, query and variable reads the data source the user picks."""


def base(uid: str, title: str, description: str, tags: Sequence[str]) -> db.Dashboard:
    """A dashboard with the data source variable, a sane time range and refresh."""
    return (
        db.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["exporterhub", *tags])
        .editable()
        .timezone("browser")
        .time("now-6h", "now")
        .refresh("30s")
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .with_variable(
            db.DatasourceVariable("datasource").label("Data source").type("prometheus")
        )
    )


def label_variable(
    name: str, label: str, series: str, matchers: str = ""
) -> db.QueryVariable:
    """A variable listing the values of label ``name`` on ``series{matchers}``.

    Multi-valued with an "All" option matching every value (``.*``), so one
    dashboard serves one rig, plug or SNP or all of them at once.
    """
    selector = f"{series}{{{matchers}}}" if matchers else series
    return (
        db.QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query({"query": f"label_values({selector}, {name})", "refId": name})
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .current(dm.VariableOption(selected=True, text="All", value="$__all"))
    )


def query(expr: str, legend: str = "", *, instant: bool = False) -> pb.Dataquery:
    """A Prometheus query; ``instant`` for tables and stats that show the last value."""
    built = pb.Dataquery().expr(expr).datasource(DATASOURCE)
    if legend:
        built = built.legend_format(legend)
    if instant:
        return built.instant().format(_TABLE)
    return built.range()


_TABLE = pm.PromQueryFormat.TABLE

Item = db.Row | cog.Builder[dm.Panel]
"""A row heading, or a panel placed after the previous one."""


def layout(dash: db.Dashboard, items: Sequence[Item]) -> db.Dashboard:
    """Add rows and panels in order; the SDK places them left to right, top down."""
    for item in items:
        dash = (
            dash.with_row(item) if isinstance(item, db.Row) else dash.with_panel(item)
        )
    return dash


def _ref_ids(queries: Sequence[pb.Dataquery]) -> list[cog.Builder[Dataquery]]:
    """Name the queries A, B, C … (tables refer to their values as ``Value #A``)."""
    return [q.ref_id(chr(ord("A") + index)) for index, q in enumerate(queries)]


def thresholds(*steps: tuple[float | None, str]) -> db.ThresholdsConfig:
    """Absolute thresholds: ``(None, colour)`` first, then ``(value, colour)``."""
    return (
        db.ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps([dm.Threshold(value=value, color=colour) for value, colour in steps])
    )


def timeseries(
    title: str,
    description: str,
    queries: Sequence[pb.Dataquery],
    *,
    unit: str = "short",
    width: int = 12,
    height: int = 8,
    bars: bool = False,
) -> tsb.Panel:
    """A time series panel over ``queries``."""
    panel = (
        tsb.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(_ref_ids(queries))
        .unit(unit)
        .span(width)
        .height(height)
        .legend(
            cb.VizLegendOptions()
            .show_legend(True)
            .display_mode(cm.LegendDisplayMode.LIST)
            .placement(cm.LegendPlacement.BOTTOM)
        )
        .tooltip(cb.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI))
    )
    if bars:
        return panel.draw_style(cm.GraphDrawStyle.BARS).fill_opacity(60)
    return panel.line_width(1).fill_opacity(10)


def stat(
    title: str,
    description: str,
    queries: Sequence[pb.Dataquery],
    *,
    unit: str = "short",
    width: int = 6,
    height: int = 4,
    steps: db.ThresholdsConfig | None = None,
    mappings: Sequence[dm.ValueMapping] = (),
) -> sb.Panel:
    """A stat panel showing each series' last value."""
    panel = (
        sb.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(_ref_ids(queries))
        .unit(unit)
        .span(width)
        .height(height)
        .color_mode(cm.BigValueColorMode.BACKGROUND)
        .graph_mode(cm.BigValueGraphMode.NONE)
        .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )
    if steps is not None:
        panel = panel.thresholds(steps)
    if mappings:
        panel = panel.mappings(list(mappings))
    return panel


def state_timeline(
    title: str,
    description: str,
    queries: Sequence[pb.Dataquery],
    *,
    mappings: Sequence[dm.ValueMapping] = (),
    width: int = 12,
    height: int = 8,
) -> stb.Panel:
    """A state timeline: one band per series, coloured by value."""
    panel = (
        stb.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(_ref_ids(queries))
        .span(width)
        .height(height)
        .show_value(cm.VisibilityMode.NEVER)
        .merge_values(True)
        .line_width(0)
        .fill_opacity(70)
    )
    if mappings:
        panel = panel.mappings(list(mappings))
    return panel


def table(
    title: str,
    description: str,
    queries: Sequence[pb.Dataquery],
    *,
    hide: Sequence[str] = ("Time", "__name__"),
    rename: dict[str, str] | None = None,
    width: int = 24,
    height: int = 8,
    unit: str = "short",
) -> tb.Panel:
    """A table of instant queries, merged on their labels, columns renamed."""
    organize = dm.DataTransformerConfig(
        id_val="organize",
        options={
            "excludeByName": dict.fromkeys(hide, True),
            "renameByName": dict(rename or {}),
        },
    )
    panel = (
        tb.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(_ref_ids(queries))
        .unit(unit)
        .span(width)
        .height(height)
        .align(cm.FieldTextAlignment.AUTO)
        .inspect(False)
        .with_transformation(dm.DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(organize)
    )
    return panel


def row(title: str) -> db.Row:
    """A row heading the panels that follow it."""
    return db.Row(title)


ANNOTATION_WINDOW = "1m"
"""Grafana evaluates Prometheus annotations every 60 s unless told otherwise, so
an annotation looks back one minute to miss nothing between two evaluations."""


def annotation(name: str, expr: str, colour: str) -> db.AnnotationQuery:
    """A Prometheus annotation: a mark wherever ``expr`` has a sample.

    ``expr`` should look back ``ANNOTATION_WINDOW`` (``increase(x[1m]) > 0``,
    ``max_over_time(flag[1m]) == 1``).
    """
    return (
        db.AnnotationQuery()
        .name(name)
        .datasource(DATASOURCE)
        .enable(True)
        .icon_color(colour)
        .expr(expr)
    )


def value_map(mapping: dict[str, tuple[str, str]]) -> dm.ValueMap:
    """Map exact values to ``(text, colour)``."""
    return dm.ValueMap(
        options={
            key: dm.ValueMappingResult(text=text, color=colour)
            for key, (text, colour) in mapping.items()
        }
    )


UP_MAP = value_map({"0": ("down", "red"), "1": ("up", "green")})
"""0/1 health as words and colours."""

ON_OFF = value_map({"0": ("off", "text"), "1": ("on", "green")})
"""0/1 relay or flag state."""

OK_FAIL = value_map({"0": ("FAIL", "red"), "1": ("OK", "green")})
"""0/1 status where 1 is good."""

RAISED = value_map({"0": ("clear", "green"), "1": ("RAISED", "red")})
"""0/1 alarm flags where 1 is bad."""
