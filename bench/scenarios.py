"""What is measured: each scenario against each app, on a freshly started gunicorn."""

import dataclasses
import json
import statistics
import threading
import urllib.parse
import urllib.request
from dataclasses import dataclass

from .load import WrkResult, committed_transactions, run_wrk
from .pgproxy import DelayingProxy
from .seed import BIG_USER, REGULAR_USER, seed_delete_pool, vacuum_analyze
from .servers import Gunicorn

BIG_PAGE_SIZE = 50
WALK_PAGE_SIZE = 500


@dataclass(frozen=True)
class Scenario:
    """One load: its wrk script, and what it needs and is held to, as data."""

    name: str
    script: str
    description: str
    # Requests as the user with the most tasks, from their first page or from `deep_position`.
    big_user: bool = False
    deep: bool = False
    # Each request deletes a task of a pool seeded before the run.
    deletes: bool = False
    # The service must reach this share of the floor's requests/s.
    floor_share_target: float | None = None


MIX = Scenario("mix", "mix.lua", "70 % list, 10 % each of create, toggle, update")
SCENARIOS = [
    Scenario("list", "list.lua", "GET /api/tasks?limit=50, a random user of 50 tasks", floor_share_target=0.60),
    Scenario("list-big-first", "list_big.lua", "first page of 50 of the user with the most tasks", big_user=True),
    Scenario(
        "list-big-deep", "list_big.lua", "a page of 50 deep in that user's tasks (cursor)", big_user=True, deep=True
    ),
    Scenario("retrieve", "retrieve.lua", "GET /api/tasks/{id}, a random user's task", floor_share_target=0.70),
    Scenario("create", "create.lua", "POST /api/tasks", floor_share_target=0.70),
    Scenario("update", "update.lua", "PUT /api/tasks/{id}, all fields", floor_share_target=0.70),
    Scenario("toggle", "toggle.lua", "PATCH /api/tasks/{id}/complete", floor_share_target=0.70),
    Scenario("delete", "delete.lua", "DELETE /api/tasks/{id}, each task once", deletes=True),
    MIX,
]
SCENARIOS_BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}


@dataclass(frozen=True)
class Mode:
    """Where PostgreSQL is: on loopback, or `delay_ms` away each way behind bench/pgproxy.py."""

    name: str
    delay_ms: float
    description: str
    # wrk's connections, when not --connections: as many as the app has workers, so that a request
    # never waits behind another and p50 is a request's own latency.
    one_per_worker: bool = False

    def connections(self, options):
        return options.workers * options.worker_threads if self.one_per_worker else options.connections

    def proxy(self, database_url):
        """A proxy to PostgreSQL with this mode's delay, which counts round trips; None on loopback."""
        if not self.delay_ms:
            return None
        url = urllib.parse.urlsplit(database_url)
        return DelayingProxy(url.hostname, url.port or 5432, self.delay_ms / 1000)


LOOPBACK = Mode("loopback", 0, "PostgreSQL on 127.0.0.1, reached directly")


@dataclass(frozen=True)
class Measurement:
    """One scenario against one app: wrk's figures plus what the database and /proc saw."""

    app: str
    scenario: str
    wrk: object
    queries_per_request: float
    worker_cpu_ms_per_request: float
    worker_rss_bytes: list
    pool_shortfall: bool = False
    mode: str = LOOPBACK.name
    # Setup, warm-up and measured requests: everything the app served while its transactions were counted.
    requests_served: int = 0
    # Counted by the proxy in front of PostgreSQL, in the modes that have one.
    round_trips_per_request: float | None = None
    # Each round's req/s, when this is the median of several (median_of).
    rounds_requests_per_second: tuple = ()


def median_of(rounds):
    """One app's figures for a scenario from its rounds: each the median round's, errors added up.

    wrk's count and duration come from the round of median req/s, p50 and p99 are each the
    median of the rounds', worker CPU per request too; transactions and round trips per request
    are over every request served, and the RSS is the last round's (the most warmed up).
    """
    middle = sorted(rounds, key=lambda m: m.wrk.requests_per_second)[(len(rounds) - 1) // 2]
    served = sum(m.requests_served for m in rounds)
    wrk = WrkResult(
        requests=middle.wrk.requests,
        duration_us=middle.wrk.duration_us,
        p50_us=statistics.median_low(m.wrk.p50_us for m in rounds),
        p99_us=statistics.median_low(m.wrk.p99_us for m in rounds),
        non_2xx=sum(m.wrk.non_2xx for m in rounds),
        socket_errors=sum(m.wrk.socket_errors for m in rounds),
    )
    trips = [m.round_trips_per_request for m in rounds]
    return dataclasses.replace(
        middle,
        wrk=wrk,
        requests_served=served,
        queries_per_request=sum(m.queries_per_request * m.requests_served for m in rounds) / served,
        worker_cpu_ms_per_request=statistics.median(m.worker_cpu_ms_per_request for m in rounds),
        worker_rss_bytes=rounds[-1].worker_rss_bytes,
        pool_shortfall=any(m.pool_shortfall for m in rounds),
        round_trips_per_request=None
        if None in trips
        else sum(t * m.requests_served for t, m in zip(trips, rounds, strict=True)) / served,
        rounds_requests_per_second=tuple(m.wrk.requests_per_second for m in rounds),
    )


@dataclass
class Run:
    """A seeded run: its options, and what seeding gave (token files, the big user's token, ids)."""

    options: object
    tokens_file: str
    big_tokens_file: str
    big_token: str
    first_task_id: int
    deep_position: int

    def wrk(self, server, script, env, seconds, connections=None):
        connections = connections or self.options.connections
        return run_wrk(
            server.url,
            script,
            env,
            seconds=seconds,
            threads=min(self.options.threads, connections),
            connections=connections,
        )

    def gunicorn(self, app):
        return Gunicorn(app, workers=self.options.workers, threads=self.options.worker_threads)


def base_env(run, app):
    return {
        "BENCH_TOKENS": run.tokens_file,
        "BENCH_FIRST_TASK_ID": str(run.first_task_id),
        "BENCH_TASKS_PER_USER": str(run.options.tasks_per_user),
        "BENCH_HEADER_AUTH": "1" if app.header_auth else "0",
    }


def measure(run, app, scenario, mode=LOOPBACK):
    """Starts the app, warms it with the scenario, measures it, stops it, counts its transactions."""
    proxy = mode.proxy(run.options.database_url)
    if proxy is None:
        return measure_app(run, app, scenario, mode)
    with proxy:
        served = dataclasses.replace(app, env={**app.env, "DATABASE_URL": proxy.url_for(app.env["DATABASE_URL"])})
        measurement = measure_app(run, served, scenario, mode)
    return dataclasses.replace(measurement, round_trips_per_request=proxy.round_trips / measurement.requests_served)


def measure_app(run, app, scenario, mode):
    options = run.options
    pool = seed_delete_pool(options.database_url, options.users, options.delete_pool) if scenario.deletes else None
    # Each run starts from a table without dead rows, as autovacuum keeps production's. Without it
    # (it is off on some test machines), the rows earlier runs deleted or updated stay in the indexes,
    # and whichever app counts or scans a user's index range pays for them.
    vacuum_analyze(options.database_url)
    before = committed_transactions(options.database_url)
    with run.gunicorn(app) as server:
        env, setup_requests = scenario_env(run, app, scenario, server)
        warm_size = warmup_pool_size(options)
        warm_env, measured_env = split_pool(env, pool, options.delete_pool, warm_size)
        connections = mode.connections(options)
        warm = run.wrk(server, scenario.script, warm_env, options.warmup_seconds, connections)
        cpu_before = server.worker_cpu_seconds()
        result = run.wrk(server, scenario.script, measured_env, options.seconds, connections)
        cpu_ms = 1000 * (server.worker_cpu_seconds() - cpu_before)
        rss = server.worker_rss_bytes()
        if not result.requests:
            raise RuntimeError(f"{app.name} answered no request in {options.seconds} s: {server.output()}")
    transactions = committed_transactions(options.database_url) - before
    served = setup_requests + warm.requests + result.requests
    return Measurement(
        app=app.name,
        scenario=scenario.name,
        mode=mode.name,
        wrk=result,
        requests_served=served,
        queries_per_request=transactions / served,
        worker_cpu_ms_per_request=cpu_ms / result.requests,
        worker_rss_bytes=rss,
        pool_shortfall=pool is not None
        and (warm.requests > warm_size or result.requests > options.delete_pool - warm_size),
    )


def scenario_env(run, app, scenario, server):
    """The scenario's BENCH_* variables, and how many requests preparing them took."""
    env = base_env(run, app)
    if not scenario.big_user:
        return env, 0
    path, walked = deep_page_path(run, app, server) if scenario.deep else (f"/api/tasks?limit={BIG_PAGE_SIZE}", 0)
    return {**env, "BENCH_TOKENS": run.big_tokens_file, "BENCH_PATH": path}, walked


def warmup_pool_size(options):
    """The warm-up's share of the delete pool, by its share of the time: deleting as fast, it ends within it.

    A warm-up that ran past its share would delete the measured run's tasks, which then answer 404.
    """
    seconds = options.warmup_seconds + options.seconds
    return -(-options.delete_pool * options.warmup_seconds // seconds)  # rounded up


def split_pool(env, pool, pool_size, warm_size):
    """The delete pool shared out: the first `warm_size` tasks to the warm-up, the rest to the measured run."""
    if pool is None:
        return env, env
    pool_env = {**env, "BENCH_POOL_FIRST_ID": str(pool.first_id)}
    return (
        {**pool_env, "BENCH_POOL_START": "0", "BENCH_POOL_SIZE": str(warm_size)},
        {**pool_env, "BENCH_POOL_START": str(warm_size), "BENCH_POOL_SIZE": str(pool_size - warm_size)},
    )


def deep_page_path(run, app, server):
    """Follows the app's own `Link` headers to `deep_position`; returns that page's path and the hops."""
    path, walked, hops = f"/api/tasks?limit={WALK_PAGE_SIZE}", 0, 0
    while walked < run.deep_position:
        step = min(WALK_PAGE_SIZE, run.deep_position - walked)
        path = with_limit(path, step)
        request = urllib.request.Request(server.url + path, headers=big_user_headers(run, app))
        with urllib.request.urlopen(request, timeout=30) as response:
            walked += len(json.load(response))
            path = next_path(response.headers["Link"])
        hops += 1
    return with_limit(path, BIG_PAGE_SIZE), hops


def big_user_headers(run, app):
    if app.header_auth:
        return {"X-Bench-User": BIG_USER}
    return {"Authorization": f"Bearer {run.big_token}"}


def next_path(link):
    url = urllib.parse.urlsplit(link.split(">", 1)[0].lstrip("<"))
    return f"{url.path}?{url.query}"


def with_limit(path, limit):
    url = urllib.parse.urlsplit(path)
    query = dict(urllib.parse.parse_qsl(url.query))
    return f"{url.path}?{urllib.parse.urlencode({**query, 'limit': limit})}"


def answers(run, app, paths):
    """The parsed bodies and `Link` headers of GETs as regular user 0, from a freshly started app."""
    headers = (
        {"X-Bench-User": REGULAR_USER.format(0)} if app.header_auth else {"Authorization": f"Bearer {first_token(run)}"}
    )
    found = []
    with Gunicorn(app, workers=1, threads=1) as server:
        for path in paths:
            request = urllib.request.Request(server.url + path, headers=headers)
            with urllib.request.urlopen(request, timeout=30) as response:
                found.append((json.load(response), response.headers.get("Link", "").split("?")[-1]))
    return found


def first_token(run):
    with open(run.tokens_file) as tokens:
        return tokens.readline().split()[1]


def check_floor_answers_like(run, floor, service):
    """The floor must answer list and retrieve exactly as the service does, or the ratios mean nothing."""
    paths = ["/api/tasks?limit=5", f"/api/tasks/{run.first_task_id}"]
    floor_answers, service_answers = answers(run, floor, paths), answers(run, service, paths)
    if floor_answers != service_answers:
        raise RuntimeError(f"the floor answers differently:\n{floor_answers}\n{service_answers}")


def soak(run, app, seconds, samples=10):
    """The mix for `seconds` on one app; worker RSS sampled `samples` times along the way (bytes)."""
    readings = []
    with run.gunicorn(app) as server:
        env = base_env(run, app)
        run.wrk(server, MIX.script, env, run.options.warmup_seconds)
        readings.append(max(server.worker_rss_bytes()))
        stop = threading.Event()
        sampler = threading.Thread(target=sample_rss, args=(server, seconds / samples, readings, stop))
        sampler.start()
        try:
            result = run.wrk(server, MIX.script, env, seconds)
        finally:
            stop.set()
            sampler.join()
        readings.append(max(server.worker_rss_bytes()))
    return result, readings


def sample_rss(server, interval, readings, stop):
    while not stop.wait(interval):
        readings.append(max(server.worker_rss_bytes()))
