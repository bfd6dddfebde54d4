"""Starting and stopping the child processes that tests and ``make run`` run."""
import os
import subprocess
import sys
import time
from pathlib import Path


def stop_process(process: subprocess.Popen[bytes] | None, timeout: float = 5.0) -> None:
    """SIGTERM the process, SIGKILL it if it is still there after ``timeout``, and reap it."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


def start_logged(args: list[str], log_path: Path, env: dict[str, str] | None = None
                 ) -> subprocess.Popen[bytes]:
    """Start a child process whose output goes to ``log_path`` (appended)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, **(env or {})})


def start_serving(module: str, workdir: Path, *args: str, timeout: float = 20.0,
                  env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """``python -m <module> --port-file …`` logging to ``<workdir>/<module>.log``; the process and
    the URL it wrote once listening (on a free 127.0.0.1 port)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port_file = workdir / f"{module}.url"
    port_file.unlink(missing_ok=True)
    process = start_logged([sys.executable, "-m", module, "--port-file", str(port_file), *args],
                           workdir / f"{module}.log", env)
    deadline = time.monotonic() + timeout
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process)
            raise RuntimeError(f"{module} did not start; see {workdir}/{module}.log")
        time.sleep(0.05)
    return process, port_file.read_text().strip()
