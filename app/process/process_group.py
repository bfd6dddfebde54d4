"""``WEB_CONCURRENCY``: several API processes bound to one port with ``SO_REUSEPORT`` (the kernel
spreads connections over them), started and stopped together by this parent process."""
import logging
import signal
import subprocess
import sys
import time

logger = logging.getLogger(__name__)
POLL = 0.2  # seconds between looks at the children


def serve_processes(count: int) -> int:
    """Run ``count`` serving children until SIGTERM or SIGINT (passed on to them) or until one of
    them exits (then the others are stopped too, so that the pod restarts whole); the exit status."""
    stopping: list[int] = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda received, _frame: stopping.append(received))
    children = [subprocess.Popen([sys.executable, "-m", "app", "serve", "--shared-port"])
                for _ in range(count)]
    logger.info("serving with %d processes: %s", count, " ".join(str(c.pid) for c in children))
    status = 0
    while not stopping:
        ended = [child for child in children if child.poll() is not None]
        if ended:
            logger.error("API process %d exited with %s; stopping the others", ended[0].pid,
                         ended[0].returncode)
            status = 1
            break
        time.sleep(POLL)
    for child in children:
        if child.poll() is None:
            child.send_signal(stopping[0] if stopping else signal.SIGTERM)
    for child in children:
        child.wait()
    return status if not stopping else max((c.returncode or 0 for c in children), default=0)


