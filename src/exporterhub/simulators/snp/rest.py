"""The simulated SMM's REST API (``snp.md`` §2, §3, §8 "REST").

:func:`answer` serves one request for a device: ``POST /api/auth`` (200 text
``Bearer <token>``, 401 ``{"error": …}``, 400 for a malformed body),
``DELETE /api/auth``, ``GET /api/elements/{ip}/config[/{objectId}]`` (the envelope
with a stringified ``config``), ``GET /api/elements/{ip}/status/{type}[/{id}]``
(plain JSON), ``GET /api/elements/{ip}/alarms`` and ``GET /api/console/status``.
Everything but the login needs ``Authorization`` = an issued token (401
otherwise); ``{ip}`` must be 127.0.0.1 or the device's own address (404
otherwise). Faults: rejected logins, slow answers, per-processor 500 / slow /
missing ``personality``. Every request is logged in the device's ``requests``,
without bodies (they hold passwords).

Error bodies are ``{"error": "<text>"}``, the shape the simulator chose for the
login (the device's own is unknown, §2). This module must not bind sockets or
log credentials or tokens.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import orjson
from aiohttp import web

from exporterhub.simulators.snp.configs import CONFIG_OBJECTS
from exporterhub.simulators.snp.faults import ProcessorFault
from exporterhub.simulators.snp.wire import LOCAL_ELEMENT_IP, config_envelope

if TYPE_CHECKING:
    from exporterhub.simulators.snp.server import SnpDevice

__all__ = ["LoggedRequest", "answer"]

_ELEMENTS: Final = re.compile(
    r"^/api/elements/(?P<ip>[^/]+)/(?P<what>config|status|alarms)(?:/(?P<rest>.*))?$"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class LoggedRequest:
    """One REST request as the device saw it (no body, no token).

    Attributes:
        method: HTTP method.
        path: request path.
        status: HTTP status answered.
        authorized: whether it carried a valid token.
    """

    method: str
    path: str
    status: int
    authorized: bool


def _json(body: Any, status: int = 200) -> web.Response:  # noqa: ANN401 - any JSON value
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json"
    )


def _error(status: int, text: str) -> web.Response:
    return _json({"error": text}, status)


async def answer(device: SnpDevice, request: web.BaseRequest) -> web.StreamResponse:
    """Serve one REST request for ``device`` and log it."""
    authorized = device.tokens.valid(request.headers.get("Authorization"))
    response = await _route(device, request, authorized=authorized)
    device.log_request(
        LoggedRequest(
            method=request.method,
            path=request.path,
            status=response.status,
            authorized=authorized,
        )
    )
    return response


async def _route(
    device: SnpDevice, request: web.BaseRequest, *, authorized: bool
) -> web.StreamResponse:
    faults = device.faults
    if faults.rest_delay > 0:
        await device.clock.sleep(faults.rest_delay)
    path, method = request.path, request.method
    if path == "/api/auth":
        if method == "POST":
            return await _login(device, request)
        if method == "DELETE":
            if not authorized:
                return _error(401, "Unauthorized")
            device.tokens.revoke(request.headers["Authorization"])
            return _json({"message": "Logged out"})
        return _error(405, "Method not allowed")
    match = _ELEMENTS.match(path)
    if match is None and path != "/api/console/status":
        return _error(404, "Not found")
    if method != "GET":
        return _error(405, "Method not allowed")
    if not authorized:
        return _error(401, "Unauthorized")
    if match is None:
        return _json(device.model.console_status())
    ip, what, rest = match["ip"], match["what"], match["rest"]
    if ip not in (LOCAL_ELEMENT_IP, device.model.fme_ip):
        return _error(404, f"Unknown element {ip}")
    if what == "config":
        return await _config(device, ip, rest)
    if what == "status" and rest:
        return _status(device, *rest.split("/", 1))
    if what == "alarms" and not rest:
        return _json(device.model.alarms)
    return _error(404, "Not found")


async def _login(device: SnpDevice, request: web.BaseRequest) -> web.Response:
    rejection = device.faults.login_rejection()
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        body = None
    if rejection is not None:
        return _error(rejection, "Device unavailable" if rejection >= 500 else "Denied")
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("username"), str)
        or not isinstance(body.get("password"), str)
    ):
        return _error(400, "Expected a JSON object with username and password")
    spec = device.spec
    good = hmac.compare_digest(body["username"].encode(), spec.username.encode())
    good &= hmac.compare_digest(body["password"].encode(), spec.password.encode())
    if not good:
        return _error(401, "Invalid username or password")
    device.logged_in()
    return web.Response(text=device.tokens.issue(spec.username))


async def _config(device: SnpDevice, ip: str, object_id: str | None) -> web.Response:
    model = device.model
    if not object_id:
        return _json(
            [config_envelope(model.config(o) or {}, fme_ip=ip) for o in CONFIG_OBJECTS]
        )
    config = model.config(object_id)
    if config is None:
        return _error(404, f"Unknown object {object_id}")
    fault = device.faults.processors.get(object_id)
    if fault is ProcessorFault.ERROR:
        return _error(500, "Internal server error")
    if fault is ProcessorFault.SLOW:
        await device.clock.sleep(device.faults.processor_delay)
    elif fault is ProcessorFault.NO_PERSONALITY:
        general = {k: v for k, v in config["general"].items() if k != "personality"}
        config = {**config, "general": general}
    return _json(config_envelope(config, fme_ip=ip))


def _status(
    device: SnpDevice, object_type: str, object_id: str | None = None
) -> web.Response:
    objects = device.model.objects
    if object_id is not None:
        try:
            return _json(objects.obj(objects.find(object_type, object_id)))
        except KeyError:
            return _error(404, f"Unknown object {object_type}/{object_id}")
    found = [objects.obj(k) for k in objects.all_keys() if k[0] == object_type]
    if not found:
        return _error(404, f"Unknown object type {object_type}")
    return _json(found[0] if len(found) == 1 else found)
