"""The production manifests (deploy/compose.yaml, deploy/k8s/, deploy/README.md) follow the code.

Every expectation is derived from deploy/local/processes.conf and the settings classes, so adding
a process or a setting without updating the manifests fails here. Nothing is started.
"""

from __future__ import annotations

import importlib
import re
import typing
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices, SecretStr

from services.common.settings import CommonSettings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "k8s"
SECRET_TEMPLATE = "secret.template.yaml"
PLACEHOLDER = "REPLACE_ME"

# Settings that no manifest sets, each with the reason.
NOT_SET = {
    "service_name": "each settings class names its own service; a shared value would rename all",
}
# Settings that only an HTTP API needs.
API_ONLY = {"http_port": "workers serve no HTTP", "http_workers": "workers serve no HTTP"}
# Kubernetes and compose must give these exact values to every process.
PRODUCTION_TLS = {
    "SAFETYPLAN_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "SAFETYPLAN_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "SAFETYPLAN_PG_SSLMODE": "verify-full",
    "PGSSLMODE": "verify-full",  # libpq's own variable, for connections opened without our conninfo
}


# --- what the code says ------------------------------------------------------------------------
@dataclass(frozen=True)
class Process:
    name: str  # as in processes.conf, e.g. plan_service-api
    port: int | None  # None for a worker ('-')
    args: tuple[str, ...]  # python arguments, e.g. ('-m', 'services.plan_service', 'api')

    @property
    def k8s_name(self) -> str:
        return self.name.replace("_", "-")

    @property
    def settings_class(self) -> type[CommonSettings]:
        module = importlib.import_module(f"services.{self.name.split('-')[0]}.settings")
        (cls,) = (
            v
            for v in vars(module).values()
            if isinstance(v, type) and issubclass(v, CommonSettings) and v is not CommonSettings
        )
        return cls


def read_processes() -> list[Process]:
    processes = []
    for line in (DEPLOY / "local" / "processes.conf").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, port, *args = line.split()
            processes.append(Process(name, None if port == "-" else int(port), tuple(args)))
    return processes


PROCESSES = read_processes()
APIS = [p for p in PROCESSES if p.port is not None]
WORKERS = [p for p in PROCESSES if p.port is None]
SERVICE_SETTINGS: list[type[CommonSettings]] = sorted(
    {p.settings_class for p in PROCESSES}, key=lambda c: c.__name__
)
SETTINGS_CLASSES: list[type[CommonSettings]] = [CommonSettings, *SERVICE_SETTINGS]


def env_name(cls: type[CommonSettings], field: str) -> str:
    """The variable a field is read from: its service-specific alias, else SAFETYPLAN_<FIELD>."""
    alias = cls.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"SAFETYPLAN_{field.upper()}"


def is_secret(cls: type[CommonSettings], field: str) -> bool:
    annotation = cls.model_fields[field].annotation
    return annotation is SecretStr or SecretStr in typing.get_args(annotation)


def expected_env(process: Process) -> set[str]:
    skipped = NOT_SET.keys() | (API_ONLY.keys() if process.port is None else set())
    cls = process.settings_class
    return {env_name(cls, f) for f in cls.model_fields if f not in skipped}


def secret_env(process: Process | None = None) -> set[str]:
    """Secrets a process reads (every process's when None): each gets only its own."""
    classes = [process.settings_class] if process else SETTINGS_CLASSES
    return {env_name(c, f) for c in classes for f in c.model_fields if is_secret(c, f)}


def known_env() -> set[str]:
    """Every SAFETYPLAN_* name some settings class reads (aliases and fallbacks included)."""
    names = set()
    for cls in SETTINGS_CLASSES:
        for field, info in cls.model_fields.items():
            alias = info.validation_alias
            names |= set(alias.choices) if isinstance(alias, AliasChoices) else set()
            names.add(f"SAFETYPLAN_{field.upper()}")
    return {str(n) for n in names}


def megabytes(quantity: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)([KMG]i?)?", str(quantity)).groups()  # type: ignore[union-attr]
    scale = {None: 1, "K": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    return float(number) * scale[unit] / 1e6


# --- what the manifests say --------------------------------------------------------------------
@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def compose_service(process: Process) -> dict[str, Any]:
    services = compose()["services"]
    assert process.name in services, f"compose.yaml has no service {process.name}"
    return services[process.name]


def env_file_keys(service: dict[str, Any]) -> set[str]:
    """Variables from the service's env files (read from the committed <file>.example)."""
    keys = set()
    for entry in service.get("env_file", []):
        path = DEPLOY / (entry if isinstance(entry, str) else entry["path"])
        text = path.with_name(path.name + ".example").read_text()
        keys |= {ln.split("=", 1)[0] for ln in text.splitlines() if "=" in ln and ln[0] != "#"}
    return keys


@cache
def k8s_objects() -> tuple[dict[str, Any], ...]:
    docs = [d for p in sorted(K8S.glob("*.yaml")) for d in yaml.safe_load_all(p.read_text())]
    return tuple(d for d in docs if d)


def k8s(kind: str, name: str) -> dict[str, Any]:
    found = [o for o in k8s_objects() if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name} in deploy/k8s, found {len(found)}"
    return found[0]


def secret_keys(name: str) -> set[str]:
    secret = k8s("Secret", name)
    return set(secret.get("stringData", {})) | set(secret.get("data", {}))


def container(process: Process) -> dict[str, Any]:
    pod = k8s("Deployment", process.k8s_name)["spec"]["template"]["spec"]
    (main,) = pod["containers"]
    return main


def k8s_env(main: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    """Each variable the container gets -> (source, value); later sources override earlier."""
    env: dict[str, tuple[str, str | None]] = {}
    for ref in main.get("envFrom", []):
        if "configMapRef" in ref:
            data = k8s("ConfigMap", ref["configMapRef"]["name"])["data"]
            env |= {k: ("configmap", v) for k, v in data.items()}
        if "secretRef" in ref:
            env |= dict.fromkeys(secret_keys(ref["secretRef"]["name"]), ("secret", None))
    for var in main.get("env", []):
        source = var.get("valueFrom", {})
        if "secretKeyRef" in source:
            env[var["name"]] = ("secret", None)
        elif "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            env[var["name"]] = ("configmap", k8s("ConfigMap", ref["name"])["data"][ref["key"]])
        else:
            env[var["name"]] = ("literal", var.get("value"))
    return env


# --- compose -----------------------------------------------------------------------------------
@pytest.mark.parametrize("process", PROCESSES, ids=lambda p: p.name)
def test_every_process_has_a_compose_service_running_its_command(process: Process) -> None:
    assert compose_service(process)["command"] == ["python", *process.args]


def test_the_production_compose_file_runs_only_our_processes_and_no_broker_or_database() -> None:
    assert set(compose()["services"]) == {p.name for p in PROCESSES}
    for name, service in compose()["services"].items():
        assert not re.search(r"kafka|postgres", service["image"], re.I), name


@pytest.mark.parametrize("process", APIS, ids=lambda p: p.name)
def test_compose_apis_publish_their_port_and_check_readyz(process: Process) -> None:
    service = compose_service(process)
    assert [str(p).rsplit(":", 1)[-1] for p in service["ports"]] == [str(process.port)]
    assert f"http://127.0.0.1:{process.port}/readyz" in " ".join(service["healthcheck"]["test"])


def test_compose_workers_publish_nothing_and_have_no_healthcheck() -> None:
    for process in WORKERS:
        service = compose_service(process)
        assert "ports" not in service, process.name
        assert service.get("healthcheck", {"disable": True}).get("disable"), process.name


@pytest.mark.parametrize("process", PROCESSES, ids=lambda p: p.name)
def test_compose_provides_every_setting_of_each_service(process: Process) -> None:
    service = compose_service(process)
    provided = set(service["environment"]) | env_file_keys(service)
    assert expected_env(process) - provided == set()


@pytest.mark.parametrize("process", PROCESSES, ids=lambda p: p.name)
def test_compose_takes_passwords_from_the_env_file_never_from_the_compose_file(
    process: Process,
) -> None:
    service = compose_service(process)
    assert secret_env() & set(service["environment"]) == set()
    assert secret_env(process) <= env_file_keys(service)
    # least privilege: no process is given a secret its settings do not read
    assert env_file_keys(service) & secret_env() <= secret_env(process)
    for example in DEPLOY.glob("*.env.example"):
        lines = example.read_text().splitlines()
        assert all(PLACEHOLDER in ln for ln in lines if "=" in ln and ln[0] != "#"), example


@pytest.mark.parametrize("process", PROCESSES, ids=lambda p: p.name)
def test_compose_defaults_to_kafka_sasl_ssl_and_postgres_verify_full(process: Process) -> None:
    service = compose_service(process)
    env = service["environment"]
    assert {k: env[k] for k in PRODUCTION_TLS} == PRODUCTION_TLS
    mounted = {f"/run/secrets/{s['target']}" for s in service["secrets"]}
    for ca in ("SAFETYPLAN_KAFKA_SSL_CAFILE", "SAFETYPLAN_PG_SSLROOTCERT", "PGSSLROOTCERT"):
        assert env[ca] in mounted, f"{ca} must point at a file from compose secrets"
    assert {s["source"] for s in service["secrets"]} <= set(compose()["secrets"])


@pytest.mark.parametrize("process", PROCESSES, ids=lambda p: p.name)
def test_compose_containers_run_unprivileged_with_limits(process: Process) -> None:
    service = compose_service(process)
    assert service["user"].split(":")[0] not in ("0", "root")
    assert service["read_only"] is True
    assert service["cap_drop"] == ["ALL"]
    assert {"cpus", "memory"} <= set(service["deploy"]["resources"]["limits"])


def test_the_image_is_python_311_slim_and_runs_as_a_non_root_user() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.findall(r"^FROM (\S+)", dockerfile, re.M)[-1] == "python:3.11-slim"
    user = re.findall(r"^USER (\S+)", dockerfile, re.M)[-1]
    assert user.split(":")[0] not in ("0", "root")
    assert re.search(r"pip install \.$", dockerfile, re.M), "install the project without extras"


# --- Kubernetes --------------------------------------------------------------------------------
@pytest.mark.parametrize("process", PROCESSES, ids=lambda p: p.name)
def test_every_process_has_a_k8s_deployment_running_its_command(process: Process) -> None:
    main = container(process)
    assert main["command"] + main.get("args", []) == ["python", *process.args]


def test_k8s_has_a_deployment_only_for_processes_of_processes_conf() -> None:
    deployments = {o["metadata"]["name"] for o in k8s_objects() if o["kind"] == "Deployment"}
    assert deployments == {p.k8s_name for p in PROCESSES}


@pytest.mark.parametrize("process", APIS, ids=lambda p: p.name)
def test_k8s_apis_expose_their_port_through_a_service_and_have_a_pdb(process: Process) -> None:
    ports = container(process)["ports"]
    assert [p["containerPort"] for p in ports] == [process.port]
    service = k8s("Service", process.k8s_name)["spec"]
    assert service["selector"] == {"app.kubernetes.io/name": process.k8s_name}
    assert [p["targetPort"] for p in service["ports"]] in ([process.port], [ports[0]["name"]])
    pdb = k8s("PodDisruptionBudget", process.k8s_name)["spec"]
    assert pdb["selector"]["matchLabels"] == service["selector"]
    env = k8s_env(container(process))
    assert env[env_name(process.settings_class, "http_port")][1] == str(process.port)


@pytest.mark.parametrize("process", APIS, ids=lambda p: p.name)
def test_k8s_apis_probe_healthz_for_liveness_and_startup_and_readyz_for_readiness(
    process: Process,
) -> None:
    main = container(process)
    port_names = {process.port, main["ports"][0]["name"]}
    paths = {"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}
    for probe, path in paths.items():
        assert main[probe]["httpGet"]["path"] == path, probe
        assert main[probe]["httpGet"]["port"] in port_names, probe


def test_k8s_workers_have_no_http_port_or_probe_and_a_relay_runs_exactly_once() -> None:
    for process in WORKERS:
        main = container(process)
        assert "ports" not in main, process.name
        probes = [main.get(p, {}) for p in ("startupProbe", "livenessProbe", "readinessProbe")]
        assert not any("httpGet" in p for p in probes), process.name
        if "relay" in process.name:  # tails the notification log: two would publish twice
            spec = k8s("Deployment", process.k8s_name)["spec"]
            assert spec["replicas"] == 1
            assert spec["strategy"]["type"] == "Recreate"


@pytest.mark.parametrize("process", PROCESSES, ids=lambda p: p.name)
def test_k8s_provides_every_setting_of_each_service(process: Process) -> None:
    assert expected_env(process) - set(k8s_env(container(process))) == set()


@pytest.mark.parametrize("process", PROCESSES, ids=lambda p: p.name)
def test_k8s_passwords_come_from_a_secret_never_from_the_configmap_or_a_literal(
    process: Process,
) -> None:
    env = k8s_env(container(process))
    own = secret_env(process)
    assert {name: env[name][0] for name in own} == dict.fromkeys(own, "secret")
    assert set(env) & secret_env() <= own  # least privilege: the audit never gets the KEK
    for configmap in (o for o in k8s_objects() if o["kind"] == "ConfigMap"):
        assert secret_env() & set(configmap["data"]) == set()


@pytest.mark.parametrize("process", PROCESSES, ids=lambda p: p.name)
def test_k8s_defaults_to_kafka_sasl_ssl_and_postgres_verify_full(process: Process) -> None:
    env = k8s_env(container(process))
    assert {k: env[k][1] for k in PRODUCTION_TLS} == PRODUCTION_TLS


@pytest.mark.parametrize("process", PROCESSES, ids=lambda p: p.name)
def test_k8s_ca_files_are_mounted_from_the_tls_secret(process: Process) -> None:
    pod = k8s("Deployment", process.k8s_name)["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    env = k8s_env(container(process))
    for ca in ("SAFETYPLAN_KAFKA_SSL_CAFILE", "SAFETYPLAN_PG_SSLROOTCERT", "PGSSLROOTCERT"):
        directory, file = str(env[ca][1]).rsplit("/", 1)
        (mount,) = (m for m in container(process)["volumeMounts"] if m["mountPath"] == directory)
        secret = volumes[mount["name"]]["secret"]["secretName"]
        assert file in secret_keys(secret), f"{ca}: {file} is not a key of Secret {secret}"


@pytest.mark.parametrize("process", PROCESSES, ids=lambda p: p.name)
def test_k8s_containers_run_unprivileged_with_resource_limits(process: Process) -> None:
    pod = k8s("Deployment", process.k8s_name)["spec"]["template"]["spec"]
    main = container(process)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert main["securityContext"]["readOnlyRootFilesystem"] is True
    assert main["securityContext"]["allowPrivilegeEscalation"] is False
    assert main["securityContext"]["capabilities"]["drop"] == ["ALL"]
    resources = main["resources"]
    assert {"cpu", "memory"} <= set(resources["limits"])
    # The measured budget is < 250 MB resident: reserve it, and let the limit sit above it.
    assert megabytes(resources["requests"]["memory"]) >= 250
    assert megabytes(resources["requests"]["memory"]) <= megabytes(resources["limits"]["memory"])


def test_the_secret_template_holds_only_placeholders() -> None:
    docs = [d for d in yaml.safe_load_all((K8S / SECRET_TEMPLATE).read_text()) if d]
    assert docs
    assert all(d["kind"] == "Secret" and "data" not in d for d in docs)
    assert all(PLACEHOLDER in v for d in docs for v in d["stringData"].values())


def test_every_k8s_manifest_is_in_the_kustomization_except_the_secret_template() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    manifests = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", SECRET_TEMPLATE}
    assert set(kustomization["resources"]) == manifests


# --- both, and the README ----------------------------------------------------------------------
def test_no_manifest_sets_a_safetyplan_variable_that_no_settings_class_reads() -> None:
    names = {k for s in compose()["services"].values() for k in s["environment"]}
    names |= {k for o in k8s_objects() if o["kind"] == "ConfigMap" for k in o["data"]}
    names |= {k for p in PROCESSES for k in k8s_env(container(p))}
    assert {n for n in names if n.startswith("SAFETYPLAN_")} - known_env() == set()


def test_the_readme_settings_table_matches_the_settings_classes() -> None:
    rows = {
        m.group(1): line
        for line in (DEPLOY / "README.md").read_text().splitlines()
        if (m := re.match(r"\| `(SAFETYPLAN_\w+)` \|", line))
    }
    for cls in SERVICE_SETTINGS:
        for field, info in cls.model_fields.items():
            row = rows.get(env_name(cls, field), "")
            assert str(info.description) in row, f"README row for {env_name(cls, field)}"
            if info.default and not isinstance(info.default, SecretStr):
                assert f"`{info.default}`" in row, f"README default of {env_name(cls, field)}"
    assert set(rows) <= known_env()
