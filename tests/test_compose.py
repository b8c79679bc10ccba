"""docker-compose.yml, the app image, provisioning and `brain secrets init`, checked without Docker.

The Compose spec schema (check-jsonschema's vendored copy) does not know about our services: the
rest are checks the schema cannot make (depends_on targets, brain subcommands, mounted files).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from brain import secrets as brain_secrets
from brain.cli import COMMANDS

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
APP_IMAGE = "industrial-brain:local"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _check_jsonschema() -> str:
    found = Path(sys.executable).with_name("check-jsonschema")
    return str(found) if found.exists() else (shutil.which("check-jsonschema") or "check-jsonschema")


def test_compose_file_matches_the_compose_spec() -> None:
    run = subprocess.run(
        [_check_jsonschema(), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_depends_on_targets_exist_with_valid_conditions(compose) -> None:
    services = compose["services"]
    for name, service in services.items():
        for target, spec in (service.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on unknown service {target!r}"
            condition = spec["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[target], (
                    f"{name} waits for {target} to be healthy: no healthcheck"
                )
            elif condition == "service_completed_successfully":
                assert services[target].get("restart") == "no", (
                    f"{target} is a one-shot: restart must be 'no'"
                )
            else:
                assert condition == "service_started", f"{name}: unknown condition {condition!r}"


APP_SERVICES = ("bridge", "processors", "sink", "export", "simulator", "influx-init")


def test_app_services_are_the_expected_ones(compose) -> None:
    app = {n for n, s in compose["services"].items() if s.get("image") == APP_IMAGE}
    assert app == set(APP_SERVICES)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            service,
            marks=pytest.mark.xfail(
                "process" not in COMMANDS,
                reason="`brain process` (the Faust processors) is not registered in brain.cli.COMMANDS yet",
                strict=True,
            ),
        )
        if service == "processors"
        else service
        for service in APP_SERVICES
    ],
)
def test_app_service_runs_an_existing_brain_subcommand(compose, name: str) -> None:
    command = compose["services"][name]["command"]
    assert command[0] in COMMANDS, f"service {name}: `brain {command[0]}` is not a brain subcommand"


def test_long_running_services_restart_and_the_demo_is_a_profile(compose) -> None:
    services = compose["services"]
    for name in ("mosquitto", "kafka", "influxdb", "grafana", "bridge", "processors", "sink"):
        assert services[name]["restart"] == "unless-stopped", name
    assert services["simulator"]["profiles"] == ["demo"]
    assert services["export"]["profiles"] == ["demo", "export"]  # only a plant with `export` runs it
    assert services["export"]["restart"] == "unless-stopped"
    for name in ("mosquitto", "kafka", "influxdb", "grafana"):
        assert "healthcheck" in services[name], name


def test_secrets_have_no_defaults(compose) -> None:
    grafana = compose["services"]["grafana"]["environment"]
    assert grafana["GF_SECURITY_ADMIN_PASSWORD"] == "${GRAFANA_ADMIN_PASSWORD:?set it in .env}"
    text = COMPOSE.read_text(encoding="utf-8")
    for name in brain_secrets.GENERATORS:
        uses = re.findall(r"\$\{" + name + r"([^}]*)\}", text)
        assert uses, f"{name} is generated but not used"
        assert all(u.startswith(":?") for u in uses), f"{name} must be required (:?), never defaulted"


def test_every_compose_variable_is_in_env_example() -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    keys = {
        line.split("=", 1)[0] for line in example.splitlines() if "=" in line and not line.startswith("#")
    }
    used = set(re.findall(r"(?<!\$)\$\{(\w+)", COMPOSE.read_text(encoding="utf-8")))
    assert used <= keys, f"missing in .env.example: {sorted(used - keys)}"
    for name in brain_secrets.GENERATORS:
        assert f"\n{name}=\n" in example, f".env.example must leave {name} empty (no secret committed)"


def test_mounted_files_exist_and_volumes_are_declared(compose) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                for lang in ("en", "zh"):
                    path = ROOT / volume.replace("${BRAIN_DASHBOARD_LANG:-en}", lang).split(":", 1)[0]
                    assert path.exists(), f"{name}: {path} does not exist"
            else:
                assert source in declared, f"{name}: volume {source!r} is not declared"


def test_grafana_provisioning() -> None:
    ds = yaml.safe_load(
        (ROOT / "dashboards/provisioning/datasources/influxdb.yaml").read_text(encoding="utf-8")
    )
    (source,) = ds["datasources"]
    assert source["type"] == "influxdb" and source["url"] == "http://influxdb:8086"
    assert source["jsonData"]["version"] == "Flux" and source["jsonData"]["defaultBucket"] == "brain_kpi"
    assert source["secureJsonData"]["token"] == "${BRAIN_INFLUX_TOKEN}"
    providers = yaml.safe_load(
        (ROOT / "dashboards/provisioning/dashboards/brain.yaml").read_text(encoding="utf-8")
    )
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards/brain"


def test_dockerfile_installs_the_project() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert text.count("FROM python:3.11-slim") == 1 and "pip install ." in text
    assert 'ENTRYPOINT ["brain"]' in text


def test_secrets_init_generates_once_and_keeps_values(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    generated = brain_secrets.init(env, ROOT / ".env.example")
    assert set(generated) == set(brain_secrets.GENERATORS)
    assert env.stat().st_mode & 0o777 == 0o600
    first = env.read_text(encoding="utf-8")
    values = dict(
        line.split("=", 1) for line in first.splitlines() if "=" in line and not line.startswith("#")
    )
    assert all(len(values[name]) >= 22 for name in generated)
    assert brain_secrets.init(env, ROOT / ".env.example") == []
    assert env.read_text(encoding="utf-8") == first
