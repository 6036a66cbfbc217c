"""The dish address: the core's ``host:port`` rule in the live section's model.

The grammar itself is tested in ``tests/core/test_address.py``; here the model
field and the served schema are checked to apply exactly that rule.
"""

from __future__ import annotations

import re

import jsonschema_rs
import pytest
from pydantic import ValidationError

from exporterhub.core.address import HOST_PORT_PATTERN, MAX_ADDRESS_LENGTH
from exporterhub.exporters.starlink.settings import LiveSettings

SCHEMA = jsonschema_rs.validator_for(LiveSettings.model_json_schema())


def model_accepts(address: str) -> bool:
    try:
        LiveSettings(dish_address=address)
    except ValidationError:
        return False
    return True


class TestDishAddress:
    @pytest.mark.parametrize(
        "address",
        ["192.168.100.1:9200", "dish:9200", "[::1]:9200", "[FE80::1]:9200"],
    )
    def test_valid(self, address):
        """Host names, IPv4 and bracketed IPv6 with a port are accepted."""
        assert re.fullmatch(HOST_PORT_PATTERN, address)
        assert model_accepts(address)
        assert SCHEMA.is_valid({"dish_address": address})

    @pytest.mark.parametrize(
        "address",
        ["dish", "::1:9200", "dish:0", " dish:9200", "dish_1:9200", "[::1]9200"],
    )
    def test_invalid(self, address):
        """Everything else is refused by the model and the schema."""
        assert not model_accepts(address)
        assert not SCHEMA.is_valid({"dish_address": address})

    def test_error_message_is_readable(self):
        """The refusal says what is expected, not the 1 800-character pattern."""
        with pytest.raises(ValidationError) as info:
            LiveSettings(dish_address="http://dish:9200")
        (error,) = info.value.errors()
        assert error["loc"] == ("dish_address",)
        assert error["msg"].startswith("must be host:port")
        assert len(error["msg"]) < 200

    def test_schema_carries_pattern_and_length(self):
        """The schema states the pattern and the length limit the model applies."""
        field = LiveSettings.model_json_schema()["properties"]["dish_address"]
        assert field["pattern"] == HOST_PORT_PATTERN
        assert field["maxLength"] == MAX_ADDRESS_LENGTH
        assert field["default"] == "192.168.100.1:9200"
