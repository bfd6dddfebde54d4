"""The README's walk-through, taken from the README itself and run as a newcomer pastes it, twice
in a row against one ``make run`` (the second time with ``$JWT_TOKEN``, as its first line says it
may): every step works, every job succeeds, and the second run creates a server of its own (its
Idempotency-Key is new, so nothing is replayed)."""
import re
import signal
import subprocess
from pathlib import Path

from tests.deploy.test_devrun import start_make_run

README = Path(__file__).resolve().parents[2] / "README.md"
# the create, the stop, the start, the resize, the snapshot, the volume's create, attach, detach
# and delete, and the server's delete
JOBS_FOLLOWED = 10


def walkthrough() -> str:
    """The shell block that follows the README's walk-through marker."""
    text = README.read_text()
    start = text.index("```sh\n", text.index("<!-- walkthrough:")) + len("```sh\n")
    return text[start:text.index("```\n", start)]


def test_the_readme_walkthrough_runs_as_written_twice_with_no_failed_job(tmp_path):
    process, _, _, _ = start_make_run(tmp_path)
    try:
        as_written = walkthrough()
        by_jwt = as_written.replace('AUTH="Authorization: Bearer $API_TOKEN"',
                                    'AUTH="Authorization: Bearer $JWT_TOKEN"')
        assert by_jwt != as_written
        runs = [subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=tmp_path,
                               capture_output=True, text=True, timeout=300)
                for script in (as_written, by_jwt)]
        receiver_log = (tmp_path / ".run" / "receiver.log").read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0].decode()

    created = []
    for run in runs:
        assert run.returncode == 0, run.stdout + run.stderr
        followed = re.findall(r"^job: (.*)$", run.stdout, re.MULTILINE)
        assert followed == ["succeeded"] * JOBS_FOLLOWED, run.stdout
        created += re.findall(r'^\{"id":"([0-9a-f-]{36})","status":"BUILD","job"', run.stdout, re.MULTILINE)
    assert len(set(created)) == 4, created  # web-01 and web-02, anew in each run
    assert "job.failed" not in receiver_log and "REJECTED" not in receiver_log
    assert process.returncode == 0, output
