"""Where the list path spends its time: py-spy samples the API process under the list load; the
functions holding the most samples (their own time), as shares of the process's samples."""
import collections
import subprocess
import sys
from pathlib import Path

from .stack import load

SECONDS, RATE, TOP = 6, 250, 12
Profile = tuple[list[tuple[str, float]], float]  # the top functions' shares; the service's share


def profile_list(workdir: Path, pid: int, url: str, headers: dict[str, str],
                 connections: int) -> Profile | None:
    """The ``TOP`` functions by own samples while ``url`` is under load, and the share of samples
    spent in the service's own code (``app/``); None without py-spy."""
    output = workdir / "profile.txt"
    spy_binary = Path(sys.executable).with_name("py-spy")
    if not spy_binary.exists():
        return None
    spy = subprocess.Popen([str(spy_binary), "record", "--pid", str(pid), "--duration", str(SECONDS),
                            "--rate", str(RATE), "--format", "raw", "--output", str(output),
                            "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    load(url, headers, connections, SECONDS)
    if spy.wait(60) != 0 or not output.exists():
        return None
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in output.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        total += int(count)
        own[frames[-1] or "(idle)"] += int(count)
    ours = sum(count for frame, count in own.items() if " (app/" in frame)
    return [(frame, count / total) for frame, count in own.most_common(TOP)], ours / total
