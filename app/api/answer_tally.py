"""Requests answered, by route and status, and their latency: tallied in plain numbers by the
event loop and turned into Prometheus families only when scraped. prometheus-client's Counter and
Histogram take locks on every update, which cost about a tenth of the list path's time."""
import itertools
from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

from ..process.metrics_registry import DURATION_BUCKETS, NAMESPACE

_REQUESTS = (f"{NAMESPACE}_http_requests", "HTTP requests answered", ["method", "route", "status"])
_LATENCY = (f"{NAMESPACE}_http_request_duration_seconds", "Time to answer a request", ["method", "route"])


class AnswerTally:
    """``http_requests_total`` and ``http_request_duration_seconds``, as a registry collector.

    Updated only from the event loop's thread; a scrape reads copies of the tallies.
    """

    def __init__(self, registry: CollectorRegistry, buckets: tuple[float, ...] = DURATION_BUCKETS) -> None:
        self._bounds = buckets
        self._le = [floatToGoString(bound) for bound in buckets] + ["+Inf"]  # type: ignore[no-untyped-call]
        self._counts: dict[tuple[str, str, int], int] = {}
        # per (method, route): a count per bucket (the last one past every bound), then the sum
        self._latencies: dict[tuple[str, str], list[float]] = {}
        registry.register(self)

    def answered(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count and time one answer."""
        key = (method, route, status)
        self._counts[key] = self._counts.get(key, 0) + 1
        tally = self._latencies.get((method, route))
        if tally is None:
            tally = self._latencies[(method, route)] = [0.0] * (len(self._bounds) + 2)
        tally[bisect_left(self._bounds, seconds)] += 1  # the first bound at or above it: le
        tally[-1] += seconds

    def describe(self) -> Iterator[Metric]:
        """The two families, empty (the registry checks their names against the others')."""
        yield CounterMetricFamily(*_REQUESTS[:2], labels=_REQUESTS[2])
        yield HistogramMetricFamily(*_LATENCY[:2], labels=_LATENCY[2])

    def collect(self) -> Iterator[Metric]:
        """The tallies as a counter and a histogram family."""
        requests = CounterMetricFamily(*_REQUESTS[:2], labels=_REQUESTS[2])
        for (method, route, status), count in list(self._counts.items()):
            requests.add_metric([method, route, str(status)], count)
        yield requests
        latency = HistogramMetricFamily(*_LATENCY[:2], labels=_LATENCY[2])
        for (method, route), tally in list(self._latencies.items()):
            cumulative = list(itertools.accumulate(tally[:-1]))
            latency.add_metric([method, route], list(zip(self._le, cumulative, strict=True)), tally[-1])
        yield latency
