"""``bench/RESULTS.md``: the figures of one run, with their ratios and targets, stated plainly."""
import datetime
from pathlib import Path
from typing import Any

from .list_path import BIG, CONNECTIONS, RUNS, SECONDS, SMALL, TINY
from .profiling import Profile

RESULTS = Path(__file__).with_name("RESULTS.md")
SCALE_RESULTS = Path(__file__).with_name("SCALE.md")


SHOWS_BEFORE = 218  # shows a second with 64 clients on one server, before reads were shared (issue 24)


def _met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _list_section(lists: dict[str, dict[str, Any]], processes: int) -> list[str]:
    small, bare_small = lists[f"API, {SMALL} servers"], lists[f"bare aiohttp, the {SMALL}-server bytes"]
    big, bare_big = lists[f"API, {BIG:,} servers"], lists[f"bare aiohttp, the {BIG:,}-server bytes"]
    tiny, bare_tiny = lists[f"API, {TINY} servers"], lists[f"bare aiohttp, the {TINY}-server bytes"]
    multi = lists[f"API, {processes} processes (`WEB_CONCURRENCY`), {SMALL} servers"]
    proxy = lists[f"live proxy (openstacksdk per request), {SMALL} servers"]
    ratio = small["requests_per_second"] / bare_small["requests_per_second"]
    tiny_ratio = tiny["requests_per_second"] / bare_tiny["requests_per_second"]
    return [
        f"## `GET /cloud/servers`: {CONNECTIONS} keep-alive connections", "",
        "| answer | bytes | requests/s | p50 ms | p99 ms | server CPU µs per answer |",
        "|---|---|---|---|---|---|",
        *[f"| {name} | {r['bytes_per_answer']:,.0f} | {r['requests_per_second']:,.0f} | "
          f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {_cpu_cell(r)} |" for name, r in lists.items()], "",
        f"- **{SMALL} servers against the limit of the stack** (a bare aiohttp handler, one process, "
        f"answering the same bytes after a bearer check): **{ratio:.2f}×** its requests/s "
        f"(target ≥ 0.7×: {_met(ratio >= 0.7)}); p99 {small['p99_ms']:.1f} ms (target ≤ 10 ms: "
        f"{_met(small['p99_ms'] <= 10)}; the bare handler's own p99 is {bare_small['p99_ms']:.1f} ms).",
        f"- **{TINY} servers**: **{tiny_ratio:.2f}×** the bare handler on the same bytes (target ≥ 0.6×: "
        f"{_met(tiny_ratio >= 0.6)}); p99 {tiny['p99_ms']:.1f} ms (target ≤ 10 ms: "
        f"{_met(tiny['p99_ms'] <= 10)}; the bare handler's {bare_tiny['p99_ms']:.1f} ms).",
        f"- {BIG:,} servers: {big['requests_per_second'] / bare_big['requests_per_second']:.2f}× the "
        "bare handler on the same bytes.",
        f"- {processes} API processes (`WEB_CONCURRENCY={processes}`, one port with `SO_REUSEPORT`): "
        f"{multi['requests_per_second'] / small['requests_per_second']:.2f}× one process.",
        "- The one-process API variants log every request (`LOG_LEVEL=INFO`: the access log on); "
        "the bare handler logs nothing.",
        f"- Against the live proxy (openstacksdk per request): "
        f"{small['requests_per_second'] / proxy['requests_per_second']:,.0f}× the requests/s, "
        f"{proxy['p99_ms'] / small['p99_ms']:,.0f}× lower p99.",
        f"- Server CPU per answer (the serving process's CPU time over the answers of a run; steadier "
        f"on a shared machine than requests/s): {TINY} servers {tiny['cpu_us']:.0f} µs against the bare "
        f"handler's {bare_tiny['cpu_us']:.0f} µs; {SMALL} servers {small['cpu_us']:.0f} µs against "
        f"{bare_small['cpu_us']:.0f} µs. The server process is the bottleneck when it is near one core "
        "busy; the difference is the service's own work per request.",
        _generator_caveat(small["generator"]), ""]


def _cpu_cell(figures: dict[str, Any]) -> str:
    """The CPU µs per answer, or a dash where several processes served (or it was not measured)."""
    value = figures.get("cpu_us", float("nan"))
    return "–" if value != value else f"{value:.0f}"


def _identity_section(lists: dict[str, dict[str, Any]], jwks_fetches: int,
                      costs: dict[str, float]) -> list[str]:
    """A JWT against a static token on the same list, 3 and 200 servers, and what identifying a
    caller costs the API process in itself."""
    lines = ["## The same lists by JWT (a real issuer's RS256 token) against a static token", "",
             "| servers | static token requests/s | JWT requests/s | JWT / static | p99 ms static / JWT |",
             "|---|---|---|---|---|"]
    ratios = []
    per_answer = 1e6 / lists[f"API, {TINY} servers"]["requests_per_second"]
    for count in (TINY, SMALL):
        static, jwt = lists[f"API, {count} servers"], lists[f"API, {count} servers, JWT"]
        ratio = jwt["requests_per_second"] / static["requests_per_second"]
        ratios.append(ratio)
        lines.append(f"| {count} | {static['requests_per_second']:,.0f} | {jwt['requests_per_second']:,.0f} "
                     f"| {ratio:.2f}× | {static['p99_ms']:.1f} / {jwt['p99_ms']:.1f} |")
    return [*lines, "",
            f"A verified token's caller is cached until it expires, so a request with a JWT costs a "
            f"digest and a dictionary look-up more than one with a static token (target ≥ 0.9×: "
            f"{_met(min(ratios) >= 0.9)}). The issuer's JWKS was fetched {jwks_fetches} time(s) in "
            "the whole run (at start; none per request). The load generator bounds these rates "
            "(see the caveat above), so the cost in the API process itself, one event loop and "
            "no HTTP, says more:", "",
            "| identifying a caller | µs per request |", "|---|---|",
            f"| static token (digest, constant-time compare with each entry) | {costs['static_us']:.1f} |",
            f"| JWT, its first request (RS256 signature and claims) | {costs['jwt_first_us']:.1f} |",
            f"| JWT, every later request (the cached caller) | {costs['jwt_cached_us']:.1f} |", "",
            f"A 3-server list is answered every {per_answer:,.0f} µs at the rate above: a cached "
            "JWT's check is a small part of it.", ""]


def _shared_show_section(show: dict[str, float]) -> list[str]:
    """64 clients polling one server's show, with Nova reads shared and not."""
    gain = show["shared_shows_per_second"] / show["unshared_shows_per_second"]
    return [f"### {CONNECTIONS} clients polling one server's show ({TINY}-server project)", "",
            "| `SHOW_FRESHNESS` | shows/s | Nova reads/s | p99 ms |", "|---|---|---|---|",
            f"| 1 s (reads shared by every show and replica) | {show['shared_shows_per_second']:,.0f} | "
            f"{show['shared_nova_reads_per_second']:.1f} | {show['shared_p99_ms']:.1f} |",
            f"| 1 µs (each show reads Nova; concurrent ones in the process share a read) | "
            f"{show['unshared_shows_per_second']:,.0f} | {show['unshared_nova_reads_per_second']:.1f} | "
            f"{show['unshared_p99_ms']:.1f} |", "",
            f"Shared reads: **{show['shared_nova_reads_per_second']:.1f} Nova reads a second** (target ≤ 2: "
            f"{_met(show['shared_nova_reads_per_second'] <= 2)}), "
            f"**{show['shared_shows_per_second'] / SHOWS_BEFORE:.1f}× the {SHOWS_BEFORE} shows a second "
            f"issue 24 measured** (target ≥ 10×: "
            f"{_met(show['shared_shows_per_second'] >= 10 * SHOWS_BEFORE)}), and {gain:.1f}× the shows a "
            "second of the "
            "unshared reads, whose concurrent shows share a read in flight. Before this round every show "
            "read Nova (issue 24 measured 224 Nova calls and 218 shows a second with 64 clients under "
            "`make run`). A show still costs two Redis round trips (its rate limit and the shared "
            "read), which bound the shows a second here.", ""]


def _access_line_section(costs: dict[str, float]) -> list[str]:
    """An access line's cost on the event loop, through logging and the lean path."""
    return ["## The access line", "",
            "| path | µs of the event loop per line |", "|---|---|",
            f"| `logging` (a `LogRecord`, the JSON formatter, a synchronous write; before) | "
            f"{costs['logging_us']:.1f} (to memory: a real write costs more) |",
            f"| `AccessLog.write` (the line built once into a buffer; written off the loop) | "
            f"{costs['lean_us']:.1f} |", "",
            f"**{costs['logging_us'] / costs['lean_us']:.1f}×** less of the loop per request; the "
            "buffer is written from a thread at least every second and at shutdown.", ""]


def _generator_caveat(generator: str) -> str:
    if generator == "wrk":
        return ("- Load from wrk with one thread (the live proxy's from the aiohttp generator, which "
                "awaits answers slower than a run). wrk, the server under test and Redis share the "
                "2 cores.")
    return ("- Caveat: wrk was not on PATH (`apt-get install wrk`), so the load came from the aiohttp "
            "generator, which saturates a core itself at these rates: the bare handler's figure is "
            "then a floor of the stack's limit, and a ratio near 1 means \"as fast as this "
            "generator can ask\".")


def _profile_section(profile: Profile | None) -> list[str]:
    if profile is None:
        return ["## Profile", "", "py-spy was not available: no profile this run.", ""]
    frames, ours = profile
    return ["## Profile of the list path (py-spy, own samples, 200 servers)", "",
            "| function | share of samples |", "|---|---|",
            *[f"| `{frame}` | {share:.1%} |" for frame, share in frames], "",
            f"The service's own code (`app/`) holds {ours:.0%} of the samples: the bearer check, "
            "the snapshot lookup (no Redis read while the change channel is followed), the "
            "headers, the edge (request id, problem documents, the access line) and the request "
            "metrics (plain tallies, turned into Prometheus series only when scraped). The rest "
            "is aiohttp's request handling and the socket write of the body, which the bare "
            "handler pays too (no middleware: the edge wraps each handler, so aiohttp adds no "
            "layer of its own), with a few more headers written.", ""]


def _nova_load_section(rows: list[dict[str, Any]]) -> list[str]:
    by_size: dict[int, dict[str, dict[str, Any]]] = {}
    for row in rows:
        by_size.setdefault(row["projects"], {})[row["mode"]] = row
    verdicts = []
    for projects, modes in by_size.items():
        cloud, own = modes.get("cloud-wide poll"), modes.get("per-project polls")
        if cloud and own:
            verdicts.append(
                f"At {projects:,} projects the cloud-wide poll costs Nova "
                f"{cloud['listings_per_second']:.2f} listings a second against "
                f"{own['listings_per_second']:,.1f} (target ≤ 1 per region: "
                f"{_met(cloud['listings_per_second'] <= 1)}), freshness p99 "
                f"{cloud['freshness_p99_s']:.1f} s (target ≤ one interval, 30 s: "
                f"{_met(cloud['freshness_p99_s'] <= 30)}).")
    return [
        "## Nova load from polling: per-project polls against the cloud-wide poll", "",
        "Projects of 3 servers in an emulator of their own, 2 worker processes, the default "
        "`POLL_INTERVAL` of 30 s; one window of an interval once every project has been polled "
        "twice in the mode. Freshness: a server in each of 40 projects stopped in Nova, one every "
        "0.75 s, and the time until the project's snapshot in Redis holds it. The cloud-wide mode "
        "starts from the per-project mode's snapshot, as a deployment turning `CLOUD_READER` on "
        "does. Tokens: Keystone tokens the workers fetched in the mode, per project (the workers "
        "keep the schedule buckets they hold, so a fleet holds about one per project; the "
        "cloud-wide mode needs the projects' tokens only for their resource lists, here not due).", "",
        "| projects | mode | Nova server listings/s | all requests/s | tokens per project | "
        "freshness p50 | p99 | changes seen |",
        "|---|---|---|---|---|---|---|---|",
        *[f"| {r['projects']:,} | {r['mode']} | {r['listings_per_second']:,.2f} | "
          f"{r['requests_per_second']:,.2f} | {r['tokens_per_project']:.2f} | "
          f"{r['freshness_p50_s']:.1f} s | {r['freshness_p99_s']:.1f} s | "
          f"{r['changes'] - r['missed']} of {r['changes']} |" for r in rows], "",
        *verdicts, "",
        "Flavors, images, networks and keypairs are still listed per project every "
        "`RESOURCES_INTERVAL` (300 s by default: 6 lists a project, 200 requests a second at "
        "10,000 projects over Nova, Glance, Neutron and Cinder); the run leaves them to the first "
        "fetch so that the windows measure server polling alone.", ""]


def write_results(environment: dict[str, Any], lists: dict[str, Any],
                  profile: Profile | None, poller: dict[str, Any],
                  jobs: dict[str, Any], processes: int, nova_load: list[dict[str, Any]],
                  webhooks: dict[str, Any], replica: dict[str, Any]) -> None:
    """Write ``bench/RESULTS.md``."""
    show = lists["show"]
    show_ratio = show["api_p50_ms"] / show["raw_p50_ms"]
    poll_ratio = poller["polls_per_second"] / poller["raw_calls_per_second"]
    lines = [
        "# Benchmarks (`make bench`)", "",
        f"Run {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; "
        + ", ".join(f"{k} {v}" for k, v in environment.items()) + ". "
        f"Load generator: `bench.load` ({lists['lists'][f'API, {SMALL} servers']['generator']}) in "
        f"its own process; {SECONDS:g} s a run; "
        f"list figures are medians of {RUNS} runs, the variants interleaved run by run.", "",
        *_list_section(lists["lists"], processes),
        *_identity_section(lists["lists"], lists["jwks_fetches"], lists["identity"]),
        *_access_line_section(lists["access_lines"]),
        "## `GET /cloud/servers/{id}` against openstacksdk", "",
        "| path | p50 ms |", "|---|---|",
        "| API (a Nova read at most `SHOW_FRESHNESS` old, shared by every show) | "
        f"{show['api_p50_ms']:.2f} |",
        f"| openstacksdk `get_server`, reused connection | {show['raw_p50_ms']:.2f} |", "",
        f"One request at a time: **{show_ratio:.2f}×** (target ≤ 1.3×: {_met(show_ratio <= 1.3)}); one "
        "client's shows within a second share a read now, so this is mostly the shared read's cost.", "",
        *_shared_show_section(show),
        f"## Poller: {poller['projects']:,} idle projects, 2 worker processes of 8 threads", "",
        "| figure | value |", "|---|---|",
        "| project polls per second (`POLL_INTERVAL=0.5`, so always behind) | "
        f"{poller['polls_per_second']:,.0f} |",
        f"| Nova requests per poll | {poller['nova_requests_per_poll']:.2f} |",
        f"| Cinder requests per poll (a look at changed volumes one poll in `VOLUME_POLL_EVERY`) | "
        f"{poller['cinder_requests_per_poll']:.2f} |",
        "| raw openstacksdk `servers(changes-since)` per second, same pools | "
        f"{poller['raw_calls_per_second']:,.0f} |",
        f"| polls against raw calls | {poll_ratio:.2f}× |",
        f"| worker CPU per poll / raw process CPU per call | {poller['poll_cpu_ms']:.2f} ms / "
        f"{poller['raw_call_cpu_ms']:.2f} ms |",
        f"| freshness p50 / p99, `POLL_INTERVAL={poller['freshness_interval']:g}` "
        f"({poller['freshness_samples']} changes, {poller['freshness_missed']} not seen) | "
        f"{poller['freshness_p50_s']:.2f} s / {poller['freshness_p99_s']:.2f} s |", "",
        f"Targets: 1 Nova request per idle poll ({_met(poller['nova_requests_per_poll'] <= 1.05)}); "
        f"≥ 0.8× the raw calls ({_met(poll_ratio >= 0.8)}). With the workers, the emulator and "
        "Redis on 2 cores, the polls are bound by CPU: a poll costs its worker the Nova call "
        "(made through keystoneauth's adapter, lighter than the raw calls' resource layer) plus "
        "its work on the event loop. That work is batched: a worker claims as many projects as "
        "it has OpenStack threads and reads what their polls start from (poll state, stored "
        "servers, the flavors list's fields) in one pipeline; the polls that find nothing new "
        "send their writes and the releases of their claims together, one pipeline a round; the "
        "job runner's periodic sweep reads every project's queue in one pipeline and visits only "
        "those holding jobs. What remains on the event loop per poll is the hand-off to the "
        "thread pool and its share of those pipelines. Freshness is bounded by the poll "
        "interval: a change waits for its project's next poll (half an interval on average), then "
        "reaches every API process through the change channel within milliseconds.", "",
        *_nova_load_section(nova_load),
        "## Jobs: creates at 50/s for 30 s, 2 workers", "",
        "| sent | accepted | succeeded | failed | unfinished | enqueue → Nova p50 | p99 |",
        "|---|---|---|---|---|---|---|",
        f"| {jobs['sent']:,} | {jobs['accepted']:,} | {jobs['succeeded']:,} | {jobs['failed']} | "
        f"{jobs['unfinished']} | {jobs['p50_ms']:.0f} ms | {jobs['p99_ms']:.0f} ms |", "",
        "## What waiting for a Redis replica costs a create", "",
        "| `REDIS_REPLICA_WAIT_MS` | answer p50 | p99 |", "|---|---|---|",
        f"| 1000 (`WAIT 1` after the job's write) | {replica['waited_p50_ms']:.2f} ms | "
        f"{replica['waited_p99_ms']:.2f} ms |",
        f"| 0 (no wait) | {replica['not_waited_p50_ms']:.2f} ms | "
        f"{replica['not_waited_p99_ms']:.2f} ms |", "",
        f"{replica['creates']} creates one after the other through an API whose Redis is a master with a "
        "replica behind three sentinels, all on 127.0.0.1 (`CREATE_WAIT=0`, no worker: the answer is "
        "the API's and Redis's time alone). On one host the replica acknowledges within a round "
        "trip; across nodes, add the network's round trip to the replica.", "",
        f"## Webhooks: {webhooks['deliveries_per_second']:.0f} deliveries a second across "
        f"{webhooks['subscriptions']:,} subscriptions, 1 worker", "",
        "| deliveries due | arrived | lag p50 | lag p99 |", "|---|---|---|---|",
        f"| {webhooks['expected']:,} | {webhooks['arrived']:,} | {webhooks['lag_p50_s']:.2f} s | "
        f"{webhooks['lag_p99_s']:.2f} s |", "",
        f"Lag is from an event's append to the stream to its arrival at a receiver on 127.0.0.1 "
        f"(p99 target < 2 s: {_met(webhooks['lag_p99_s'] < 2)}), the appends beginning once the "
        "worker's first polls of the 100 projects are done (those hold its process for a second or "
        "two after it starts: the events of that moment wait up to about 1.8 s). A sender's round "
        "costs what is due: the projects with new events (a hint each append leaves) and the subscriptions "
        "whose first lane is due (an index the lanes' scripts keep); every subscription is "
        "visited only by a sweep every 10 s that repairs those hints.", "",
        "## Memory", "",
        f"- Redis: **{lists['bytes_per_server']:,.0f} bytes per server** for a {BIG:,}-server "
        f"project's snapshot (target ≤ 1,536: {_met(lists['bytes_per_server'] <= 1536)}).",
        f"- API process RSS after the list runs: {lists['api_rss_mib']:.0f} MiB.", "",
        *_profile_section(profile),
        "## Scale", "",
        "The 10,000-project simulation runs separately (`make bench-scale`); its results and the "
        f"projection to 100,000 projects are in [`{SCALE_RESULTS.name}`]({SCALE_RESULTS.name}).", ""]
    RESULTS.write_text("\n".join(lines))
