"""Starting and stopping the child processes that tests and ``make run`` run."""
import os
import subprocess
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
