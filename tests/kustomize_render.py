"""A small kustomize for the tests (no kustomize binary offline): resources, strategic-merge
patches, replicas, images, labels, and ConfigMap/Secret generators (a generated Secret's files
hold placeholders). Enough for k8s/, whose kustomizations use nothing else."""
import copy
from pathlib import Path
from typing import Any

import yaml

Doc = dict[str, Any]


def load_all(path: Path) -> list[Doc]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kustomization(directory: Path) -> Doc:
    return yaml.safe_load((directory / "kustomization.yaml").read_text())


def merge(target: Any, patch: Any) -> Any:
    """Strategic merge: maps recursively, lists of named maps by name, other lists replaced."""
    if isinstance(target, dict) and isinstance(patch, dict):
        merged = dict(target)
        for key, value in patch.items():
            merged[key] = merge(target[key], value) if key in target else copy.deepcopy(value)
        return merged
    if (isinstance(target, list) and isinstance(patch, list)
            and all(isinstance(item, dict) and "name" in item for item in target + patch)):
        by_name = {item["name"]: item for item in target}
        for item in patch:
            by_name[item["name"]] = merge(by_name[item["name"]], item) if item["name"] in by_name else item
        return list(by_name.values())
    return copy.deepcopy(patch)


def find(objects: list[Doc], kind: str, name: str) -> Doc:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} objects"
    return matches[0]


def render(directory: Path) -> list[Doc]:
    """The objects ``kustomize build directory`` would print."""
    spec = kustomization(directory)
    objects: list[Doc] = []
    for resource in spec.get("resources", []):
        path = directory / resource
        objects += render(path) if path.is_dir() else load_all(path)
    for generator in spec.get("configMapGenerator", []):
        data = dict(literal.split("=", 1) for literal in generator.get("literals", []))
        if generator.get("behavior") == "merge":
            find(objects, "ConfigMap", generator["name"])["data"].update(data)
        else:
            objects.append({"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": generator["name"]}, "data": data})
    for generator in spec.get("secretGenerator", []):
        data = dict(literal.split("=", 1) for literal in generator.get("literals", []))
        data |= {Path(file).name: "placeholder" for file in generator.get("files", [])}
        objects.append({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                        "metadata": {"name": generator["name"]}, "stringData": data})
    for patch in spec.get("patches", []):
        doc = yaml.safe_load((directory / patch["path"]).read_text())
        target = find(objects, doc["kind"], doc["metadata"]["name"])
        objects[objects.index(target)] = merge(target, doc)
    for replicas in spec.get("replicas", []):
        find(objects, "Deployment", replicas["name"])["spec"]["replicas"] = replicas["count"]
    for image in spec.get("images", []):
        for obj in objects:
            pod = obj.get("spec", {}).get("template", {}).get("spec", {})
            for container in pod.get("containers", []) + pod.get("initContainers", []):
                if container["image"].split(":")[0] == image["name"]:
                    container["image"] = f"{image['newName']}:{image['newTag']}"
    for label in spec.get("labels", []):
        for obj in objects:
            obj["metadata"].setdefault("labels", {}).update(label["pairs"])
    return objects
