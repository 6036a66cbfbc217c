"""The Starlink dashboard: the route on a map, latency, throughput, loss, obstruction.

Also the dish state over time (outages), alerts and GPS. Starlink series carry no
identity labels (one dish per exporter), so the dish is chosen by job and
instance. Series come from docs/metrics/starlink.md; nothing else.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import geomap as gb
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import geomap as gm

from . import _common as c

__all__ = ["UID", "build"]

UID = "exporterhub-starlink"
SEL = 'job=~"$job",instance=~"$instance"'


def _route() -> gb.Panel:
    """Latitude and longitude joined on time, drawn as a route ending at the dish."""
    coords = cb.FrameGeometrySource().mode(cm.FrameGeometrySourceMode.COORDS)
    location = coords.latitude("latitude").longitude("longitude")
    return (
        gb.Panel()
        .title("Route")
        .description(
            "Where the dish has been in the time range (starlink_dish_latitude_degrees"
            " and _longitude_degrees joined on time); the arrows point the way it"
            " travelled and the route ends where the dish is now."
        )
        .datasource(c.DATASOURCE)
        .targets(
            [
                c.query(f"starlink_dish_latitude_degrees{{{SEL}}}", "latitude").ref_id(
                    "A"
                ),
                c.query(
                    f"starlink_dish_longitude_degrees{{{SEL}}}", "longitude"
                ).ref_id("B"),
            ]
        )
        .with_transformation(
            dm.DataTransformerConfig(
                id_val="joinByField", options={"byField": "Time", "mode": "outer"}
            )
        )
        .span(24)
        .height(14)
        .view(gb.MapViewConfig().id("fit").all_layers(True).zoom(12))
        .controls(gb.ControlsOptions().show_zoom(True).mouse_wheel_zoom(True))
        .basemap(cb.MapLayerOptions().type("osm-standard").name("Map"))
        .layers(
            [
                cb.MapLayerOptions()
                .type("route")
                .name("Route")
                .location(location)
                .config(
                    {
                        # arrow 1: arrows point the way the dish travelled.
                        "arrow": 1,
                        "style": {
                            "color": {"fixed": "blue"},
                            "size": {"fixed": 4},
                            "opacity": 0.8,
                        },
                    }
                )
                .tooltip(True),
            ]
        )
        .tooltip(gb.TooltipOptions().mode(_DETAILS))
    )


_DETAILS = gm.TooltipMode.DETAILS


def _now() -> list[c.Item]:
    return [
        c.row("Now"),
        c.stat(
            "Exporter",
            "starlink_up: the exporter reads the dish and its data is fresh.",
            [c.query(f"starlink_up{{{SEL}}}", "{{instance}}", instant=True)],
            mappings=[c.UP_MAP],
            width=4,
        ),
        c.stat(
            "Dish state",
            "The dish's state from its outage cause (starlink_dish_state).",
            [c.query(f"starlink_dish_state{{{SEL}}} == 1", "{{state}}", instant=True)],
            width=5,
        ).text_mode(cm.BigValueTextMode.NAME),
        c.stat(
            "Latency",
            "Round trip dish to point of presence.",
            [c.query(f"starlink_network_latency_ms{{{SEL}}}", "latency", instant=True)],
            unit="ms",
            steps=c.thresholds((None, "green"), (80, "yellow"), (150, "red")),
            width=5,
        ),
        c.stat(
            "Obstructed",
            "Share of the sky view obstructed.",
            [
                c.query(
                    f"starlink_dish_obstruction_percent{{{SEL}}}",
                    "obstruction",
                    instant=True,
                )
            ],
            unit="percent",
            steps=c.thresholds((None, "green"), (1, "yellow"), (5, "red")),
            width=5,
        ).decimals(2),
        c.stat(
            "Not connected",
            "Share of the time range the dish was not CONNECTED (outages).",
            [
                c.query(
                    "(1 - avg_over_time("
                    f'starlink_dish_state{{{SEL},state="CONNECTED"}}[$__range])) * 100',
                    "outage",
                    instant=True,
                )
            ],
            unit="percent",
            steps=c.thresholds((None, "green"), (0.5, "yellow"), (2, "red")),
            width=5,
        ).decimals(2),
    ]


def _network() -> list[c.Item]:
    return [
        c.row("Network"),
        c.timeseries(
            "Latency",
            "PoP ping round trip.",
            [c.query(f"starlink_network_latency_ms{{{SEL}}}", "latency")],
            unit="ms",
        ),
        c.timeseries(
            "Throughput",
            "Downlink and uplink (capacity in simulation, traffic in live mode).",
            [
                c.query(f"starlink_network_throughput_down_mbps{{{SEL}}}", "down"),
                c.query(f"starlink_network_throughput_up_mbps{{{SEL}}}", "up"),
            ],
            unit="Mbits",
        ),
        c.timeseries(
            "Packet loss",
            "PoP pings lost.",
            [c.query(f"starlink_network_packet_loss_percent{{{SEL}}}", "loss")],
            unit="percent",
        ),
        c.timeseries(
            "Obstruction and signal",
            "Obstructed share of the sky, derived signal quality.",
            [
                c.query(f"starlink_dish_obstruction_percent{{{SEL}}}", "obstructed"),
                c.query(f"starlink_signal_quality_percent{{{SEL}}}", "signal quality"),
            ],
            unit="percent",
        ),
    ]


def _dish() -> list[c.Item]:
    return [
        c.row("Dish"),
        c.state_timeline(
            "Dish state (outages)",
            "The dish's state over time; anything but CONNECTED is an outage.",
            [c.query(f"starlink_dish_state{{{SEL}}} == 1", "{{state}}")],
            width=12,
            height=6,
        ),
        c.state_timeline(
            "Obstructed now",
            "currently_obstructed and the signal above the noise floor.",
            [
                c.query(f"starlink_dish_currently_obstructed{{{SEL}}}", "obstructed"),
                c.query(
                    f"starlink_dish_snr_above_noise_floor{{{SEL}}}",
                    "above noise floor",
                ),
            ],
            mappings=[c.value_map({"0": ("no", "green"), "1": ("yes", "red")})],
            width=12,
            height=6,
        ),
        c.table(
            "Active alerts",
            "Dish alerts raised now (starlink_dish_alert_*).",
            [
                c.query(
                    f'{{__name__=~"starlink_dish_alert_.+",{SEL}}} == 1',
                    instant=True,
                )
            ],
            hide=("Time", "job", "instance", "Value"),
            rename={"__name__": "alert"},
            width=8,
        ),
        c.timeseries(
            "Speed and heading",
            "Ground speed in knots and direction of travel.",
            [
                c.query(f"starlink_dish_speed_knots{{{SEL}}}", "speed (kn)"),
                c.query(f"starlink_dish_heading_degrees{{{SEL}}}", "heading (°)"),
            ],
            width=8,
        ),
        c.timeseries(
            "Power and GPS",
            "Power drawn by the dish and GPS satellites in view.",
            [
                c.query(f"starlink_dish_power_watts{{{SEL}}}", "power (W)"),
                c.query(f"starlink_dish_gps_satellites{{{SEL}}}", "GPS satellites"),
            ],
            width=8,
        ),
        c.table(
            "Dish",
            "Identity, versions and uptime.",
            [
                c.query(f"starlink_dish_info{{{SEL}}}", instant=True),
                c.query(f"starlink_dish_uptime_seconds{{{SEL}}}", instant=True),
            ],
            hide=("Time", "__name__", "Value #A"),
            rename={"Value #B": "uptime"},
            unit="s",
            height=5,
        ),
    ]


def build() -> db.Dashboard:
    """The Starlink dashboard."""
    dash = (
        c.base(
            UID,
            "Starlink",
            "Starlink dish from exporterhub's starlink exporter: route, latency, "
            "throughput, loss, obstruction, state and outages.",
            ["starlink"],
        )
        .with_variable(c.label_variable("job", "Job", "starlink_up"))
        .with_variable(
            c.label_variable("instance", "Instance", "starlink_up", 'job=~"$job"')
        )
        .annotation(
            c.annotation(
                "Outage",
                "max by (state) (max_over_time("
                f'starlink_dish_state{{{SEL},state!="CONNECTED"}}'
                f"[{c.ANNOTATION_WINDOW}])) == 1",
                "red",
            )
        )
    )
    return c.layout(dash, [*_now(), c.row("Route"), _route(), *_network(), *_dish()])
