"""The poller's backoff for a failing project."""
from workers.poller import backoff_delay


def test_backoff_doubles_per_failure_up_to_the_cap():
    delays = [backoff_delay(n, interval=30, maximum=600, jitter=1.0) for n in range(1, 7)]

    assert delays == [60, 120, 240, 480, 600, 600]


def test_jitter_scales_the_delay():
    assert backoff_delay(1, interval=30, maximum=600, jitter=0.8) == 48
    assert backoff_delay(100, interval=30, maximum=600, jitter=1.2) == 720
