"""Geodesy on one spherical Earth (protocol notes §3.1)."""

from __future__ import annotations

import math

import pytest

from exporterhub.exporters.starlink import geo

NYC = (40.7128, -74.0060)
LONDON = (51.5074, -0.1278)


class TestDistanceAndBearing:
    def test_nyc_to_london_distance(self):
        """New York to London is about 5 570 km on the mean-radius sphere."""
        assert geo.haversine_m(*NYC, *LONDON) == pytest.approx(5_570_230, abs=2_000)

    def test_nyc_to_london_initial_and_final_bearing(self):
        """The initial bearing is about 51 degrees and the arrival bearing about 108."""
        assert geo.initial_bearing_deg(*NYC, *LONDON) == pytest.approx(51.2, abs=0.2)
        near_end = geo.interpolate(*NYC, *LONDON, 0.999)
        assert geo.initial_bearing_deg(*near_end, *LONDON) == pytest.approx(
            108.3, abs=0.5
        )

    @pytest.mark.parametrize(
        ("target", "bearing"),
        [
            pytest.param((1.0, 0.0), 0.0, id="north"),
            pytest.param((0.0, 1.0), 90.0, id="east"),
            pytest.param((-1.0, 0.0), 180.0, id="south"),
            pytest.param((0.0, -1.0), 270.0, id="west"),
        ],
    )
    def test_cardinal_bearings(self, target, bearing):
        """Bearings are degrees true, 0 = north, clockwise, in [0, 360)."""
        assert geo.initial_bearing_deg(0.0, 0.0, *target) == pytest.approx(bearing)

    def test_one_degree_of_latitude(self):
        """One degree of arc is R * pi / 180 metres."""
        expected = geo.EARTH_RADIUS_M * math.pi / 180
        assert geo.haversine_m(0.0, 10.0, 1.0, 10.0) == pytest.approx(expected)

    def test_identical_points(self):
        """Coincident points are 0 m apart with bearing 0."""
        assert geo.haversine_m(*NYC, *NYC) == 0.0
        assert geo.initial_bearing_deg(*NYC, *NYC) == 0.0


class TestDestination:
    def test_round_trip(self):
        """Going the distance along the initial bearing lands on the target."""
        distance = geo.haversine_m(*NYC, *LONDON)
        bearing = geo.initial_bearing_deg(*NYC, *LONDON)
        lat, lon = geo.destination(*NYC, bearing, distance)
        assert geo.haversine_m(lat, lon, *LONDON) < 1.0

    def test_crosses_antimeridian(self):
        """Heading east from 179.5E wraps to the western hemisphere."""
        lat, lon = geo.destination(0.0, 179.5, 90.0, 111_195.0)
        assert lat == pytest.approx(0.0, abs=1e-9)
        assert lon == pytest.approx(-179.5, abs=1e-3)


class TestInterpolate:
    def test_antimeridian_midpoint(self):
        """The midpoint of 179E to 179W is on the antimeridian, not at Greenwich."""
        lat, lon = geo.interpolate(0.0, 179.0, 0.0, -179.0, 0.5)
        assert lat == pytest.approx(0.0, abs=1e-9)
        assert abs(lon) == pytest.approx(180.0, abs=1e-6)
        assert geo.haversine_m(0.0, 179.0, lat, lon) == pytest.approx(
            geo.haversine_m(0.0, 179.0, 0.0, -179.0) / 2, rel=1e-9
        )

    def test_fraction_is_proportional_to_distance(self):
        """A quarter of the way is a quarter of the distance."""
        point = geo.interpolate(*NYC, *LONDON, 0.25)
        total = geo.haversine_m(*NYC, *LONDON)
        assert geo.haversine_m(*NYC, *point) == pytest.approx(total / 4, rel=1e-9)

    def test_endpoints_and_degenerate(self):
        """f = 0 and f = 1 are the endpoints; a zero-length leg returns its start."""
        assert geo.interpolate(*NYC, *LONDON, 0.0) == pytest.approx(NYC)
        assert geo.interpolate(*NYC, *LONDON, 1.0) == pytest.approx(LONDON)
        assert geo.interpolate(10.0, 190.0, 10.0, 190.0, 0.5) == (10.0, -170.0)


class TestUnits:
    def test_knots(self):
        """1 knot = 0.514444 m/s and the conversions invert each other."""
        assert geo.knots_to_mps(1.0) == pytest.approx(0.514444)
        assert geo.mps_to_knots(1.0) == pytest.approx(1.943844)
        assert geo.mps_to_knots(geo.knots_to_mps(45.0)) == pytest.approx(
            45.0, rel=1e-12
        )

    @pytest.mark.parametrize(
        ("lon", "expected"),
        [
            (0.0, 0.0),
            (180.0, -180.0),
            (-180.0, -180.0),
            (190.0, -170.0),
            (-190.0, 170.0),
        ],
    )
    def test_normalize_lon(self, lon, expected):
        """Longitudes wrap into [-180, 180)."""
        assert geo.normalize_lon(lon) == pytest.approx(expected)
