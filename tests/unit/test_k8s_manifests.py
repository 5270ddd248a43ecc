"""deploy/k8s/ agrees with the product: every container runs a command the command line
takes, every setting it is given is one the product reads, and the workers scale on the Redis
list their queue really is."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from core.cli import build_parser
from core.settings import Settings
from tests.services import ROOT

K8S = ROOT / "deploy" / "k8s"


def _documents() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    documents: list[dict[str, Any]] = []
    for name in kustomization["resources"]:
        documents += [doc for doc in yaml.safe_load_all((K8S / name).read_text()) if doc]
    return documents


def _of_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for doc in _documents() if doc["kind"] == kind]


def _containers() -> list[dict[str, Any]]:
    pods = [doc["spec"]["template"]["spec"] for doc in _of_kind("Deployment") + _of_kind("Job")]
    return [container for pod in pods for container in pod["containers"]]


def test_every_file_is_listed_in_the_kustomization() -> None:
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}


@pytest.mark.parametrize("container", _containers(), ids=lambda c: " ".join(c["args"]))
def test_each_container_runs_a_command_the_cli_takes(container: dict[str, Any]) -> None:
    assert container["image"] == "tdbuddy"
    build_parser().parse_args(container["args"])  # SystemExit on an unknown command or option


def test_the_settings_are_complete_and_read_by_the_product() -> None:
    env: dict[str, str] = {}
    for doc in _of_kind("ConfigMap"):
        env.update(doc["data"])
    for doc in _of_kind("Secret"):
        if doc["metadata"]["name"] == "tdbuddy":
            env.update(doc["stringData"])
    settings = Settings.from_env(env)  # raises on a missing or malformed setting
    assert settings.api.public_url == env["PUBLIC_URL"]


def test_the_workers_scale_on_their_own_queue() -> None:
    queue = _of_kind("ConfigMap")[0]["data"]["BROKER_QUEUE"]
    (scaled,) = _of_kind("ScaledObject")
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["metadata"]["listName"] == f"dramatiq:{queue}"  # Dramatiq's Redis list
    workers = {doc["metadata"]["name"]: doc for doc in _of_kind("Deployment")}
    assert scaled["spec"]["scaleTargetRef"]["name"] in workers
    (container,) = workers[scaled["spec"]["scaleTargetRef"]["name"]]["spec"]["template"]["spec"][
        "containers"
    ]
    assert build_parser().parse_args(container["args"]).queues == [queue]


def test_one_scheduler_and_it_is_never_doubled_during_a_rollout() -> None:
    schedulers = [
        doc
        for doc in _of_kind("Deployment")
        if doc["spec"]["template"]["spec"]["containers"][0]["args"] == ["scheduler"]
    ]
    (scheduler,) = schedulers
    assert scheduler["spec"]["replicas"] == 1
    assert scheduler["spec"]["strategy"]["type"] == "Recreate"
