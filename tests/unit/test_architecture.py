"""The layering rules, read from the source: who may import what, and who builds the stores."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = sorted([*ROOT.glob("app/**/*.py"), *ROOT.glob("workers/**/*.py")])
# Built only by the composition root (app/process/composition.py), once per process.
STORES = {"SnapshotStore", "JobStore", "JobQueue", "EventStream", "IdempotencyStore", "PollSchedule",
          "ProjectRefresher", "ProjectReader", "ServerWriter", "JobExecutor", "ServerRecorder",
          "CloudDirectory", "OpenStackGateway", "TokenRegistry", "ProjectAccess", "RateLimiter",
          "RedisEpoch", "PollRecovery", "SubscriptionStore", "DeliveryStore", "Dispatcher",
          "SecretBox", "Heartbeats", "ServerMarks", "RecentShows", "JwtVerifier",
          "Redis"}


def imported_modules(path: Path) -> set[str]:
    """Absolute names of what a module imports (relative imports resolved)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            names |= {module} | {f"{module}.{alias.name}" for alias in node.names}
    return names


def constructed(path: Path) -> set[str]:
    """Names of the classes a module calls (builds)."""
    calls = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            calls.add(func.id if isinstance(func, ast.Name) else getattr(func, "attr", ""))
    return calls


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", PRODUCT, ids=relative)
def test_the_product_never_imports_the_emulator_or_the_dev_tooling(path):
    assert not {m for m in imported_modules(path) if m.split(".")[0] in ("emulator", "devtools")}


# The HTTP edges: the API (inbound), and in the workers the webhook sender's client and the
# health and metrics server. The domain (app/ outside app/api/) never speaks HTTP itself.
WORKER_HTTP_EDGES = {"workers/guarded_client.py", "workers/webhook_sender.py", "workers/health.py"}


@pytest.mark.parametrize("path", [p for p in PRODUCT if "api" not in p.relative_to(ROOT).parts
                                  and p.name != "__main__.py" and relative(p) not in WORKER_HTTP_EDGES],
                         ids=relative)
def test_only_the_http_edges_import_aiohttp(path):
    assert not {m for m in imported_modules(path) if m.startswith("aiohttp")}


@pytest.mark.parametrize("path", [p for p in PRODUCT if relative(p) != "app/process/composition.py"],
                         ids=relative)
def test_only_the_composition_root_builds_stores(path):
    assert not constructed(path) & STORES


def test_no_two_modules_share_a_name():
    names = [p.name for package in ("app", "workers", "emulator", "devtools")
             for p in (ROOT / package).rglob("*.py") if not p.name.startswith("__")]

    assert sorted({n for n in names if names.count(n) > 1}) == []


def test_app_itself_holds_at_most_six_loose_modules():
    loose = [p.name for p in (ROOT / "app").glob("*.py") if p.name not in ("__init__.py", "__main__.py")]

    assert len(loose) <= 6, loose


ENTRY_POINTS = {"app/__main__.py", "workers/__main__.py"}


@pytest.mark.parametrize("path", [p for p in PRODUCT if relative(p) not in ENTRY_POINTS
                                  and "process" not in p.relative_to(ROOT).parts], ids=relative)
def test_only_the_entry_points_import_the_composition_root(path):
    assert "app.process.composition" not in imported_modules(path)
