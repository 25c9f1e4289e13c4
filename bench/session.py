"""One benchmark run from start to finish: database, tokens, apps, measurements, results."""

import datetime
import json
import secrets
import subprocess
import sys
import time

from .load import median_round_trip_ms
from .note import machine_info, write_note
from .paths import PROJECT_DIR
from .plans import page_plans
from .report import HEADERS, remote_target_rows, table_rows, target_rows, text_table, verdict, write_chart
from .scenarios import (
    BIG_PAGE_SIZE,
    LOOPBACK,
    MIX,
    SCENARIOS,
    Mode,
    Run,
    check_floor_answers_like,
    measure,
    median_of,
    soak,
)
from .seed import BIG_USER, REGULAR_USER, SeedPlan, migrate, recreate_database, row_count, seed
from .servers import App

SECONDS_TO_START_AND_STOP = 6
LOGGING = (
    "as in production, for both apps: gunicorn reads the shipped gunicorn.conf.py, which turns gunicorn's "
    "access log off; the service writes its own JSON request line (LOG_LEVEL INFO, the default, to a file "
    "here, stdout in production), the floor none. Both are served by gunicorn alone, without the nginx "
    "that deploy/web.py puts in front: nginx only passes bytes on (its access log is off) and would cost "
    "both apps the same"
)


class BenchSession:
    """Seeds, measures and reports; `issuer` signs the tokens and serves their JWKS."""

    def __init__(self, options, workdir, issuer, emit):
        self.options = options
        self.workdir = workdir
        self.issuer = issuer
        self.emit = emit
        self.run = None
        self.measurements = []
        self.plans = {}
        self.breakdown = {}
        self.soak_readings = []
        self.calibration = ""
        self.seed_plan = SeedPlan(options.users, options.tasks_per_user, options.big_user_tasks, options.total_rows)

    def app_env(self, settings_module="taskapi.settings"):
        return {
            "DATABASE_URL": self.options.database_url,
            "BETTER_AUTH_URL": self.issuer.origin,
            "DJANGO_SETTINGS_MODULE": settings_module,
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": f"bench-only-{secrets.token_urlsafe(40)}",
            "API_USER_THROTTLE_RATE": "off",
            # Workers are measured by pid (CPU, RSS, the soak): none may be replaced mid-run.
            "GUNICORN_MAX_REQUESTS": "0",
            "PYTHONPATH": str(PROJECT_DIR),
        }

    def floor_and_service(self):
        return [
            App("floor", "bench.floor_app:application", self.app_env()),
            App("service", "taskapi.wsgi", self.app_env()),
        ]

    def modes(self):
        """Loopback, and the remote database unless --remote-delay-ms is 0."""
        delay = self.options.remote_delay_ms
        if not delay:
            return [LOOPBACK]
        description = (
            f"PostgreSQL {delay:g} ms away each way (bench/pgproxy.py); wrk with one connection per "
            "worker, so that p50 is a request's own latency, not time queued behind others"
        )
        return [LOOPBACK, Mode("remote", delay, description, one_per_worker=True)]

    def apps(self, scenario, mode=LOOPBACK):
        """The floor and the service; on loopback also the service with a trusted header for the auth-off scenarios."""
        apps = self.floor_and_service()
        if mode == LOOPBACK and scenario.name in self.options.noauth_scenarios.split(","):
            apps.append(App("service-noauth", "taskapi.wsgi", self.app_env("bench.settings_noauth"), header_auth=True))
        return apps

    def prepare_database(self):
        started = time.monotonic()
        self.emit(f"seeding {self.options.database_url}: {self.seed_plan}")
        recreate_database(self.options.database_url)
        migrate(self.app_env())
        regular = seed(self.options.database_url, self.seed_plan)
        self.emit(f"seeded {row_count(self.options.database_url):,} rows in {time.monotonic() - started:.0f} s")
        self.run = Run(
            options=self.options,
            tokens_file=self.write_tokens("tokens.txt", [REGULAR_USER.format(k) for k in range(self.options.users)]),
            big_tokens_file=self.write_tokens("big-token.txt", [BIG_USER]),
            big_token=self.issuer.token_for(BIG_USER),
            first_task_id=regular.first_id,
            deep_position=min(self.options.deep_position, self.options.big_user_tasks - BIG_PAGE_SIZE),
        )

    def write_tokens(self, name, users):
        path = self.workdir / name
        path.write_text("".join(f"{user} {self.issuer.token_for(user)}\n" for user in users))
        return str(path)

    def selected_scenarios(self):
        if self.options.scenarios == "all":
            return SCENARIOS
        names = self.options.scenarios.split(",")
        return [scenario for scenario in SCENARIOS if scenario.name in names]

    def calibrate(self):
        """What one round trip costs in each mode, measured through the same proxy the apps use."""
        database_url, figures = self.options.database_url, []
        for mode in self.modes():
            proxy = mode.proxy(database_url)
            if proxy is None:
                figures.append(f"{mode.name} {median_round_trip_ms(database_url):.2f} ms")
                continue
            with proxy:
                figures.append(f"{mode.name} {median_round_trip_ms(proxy.url_for(database_url)):.2f} ms")
        return ", ".join(figures)

    def measure_all(self):
        self.calibration = self.calibrate()
        self.emit(f"one round trip: {self.calibration}")
        floor, service = self.floor_and_service()
        check_floor_answers_like(self.run, floor, service)
        self.emit(f"measuring: about {datetime.timedelta(seconds=self.estimated_seconds)} from here")
        for mode in self.modes():
            for scenario in self.selected_scenarios():
                self.measurements += self.measure_in_turns(scenario, mode)
        self.plans = page_plans(self.options.database_url, BIG_USER, self.run.deep_position, BIG_PAGE_SIZE)
        self.breakdown = self.measure_breakdown()
        if self.options.soak_seconds:
            self.emit(f"soak: the {MIX.name} for {self.options.soak_seconds} s on the service")
            _, self.soak_readings = soak(self.run, self.floor_and_service()[1], self.options.soak_seconds)

    def measure_in_turns(self, scenario, mode):
        """The scenario's apps measured in rounds, taking turns (the order reversed every other
        round), so that a slow spell of the machine falls on each app alike; one median each."""
        apps = self.apps(scenario, mode)
        rounds = {app.name: [] for app in apps}
        for number in range(1, self.options.rounds + 1):
            for app in apps if number % 2 else apps[::-1]:
                measurement = measure(self.run, app, scenario, mode)
                rounds[app.name].append(measurement)
                self.emit(
                    f"{mode.name:8} {scenario.name:15} round {number} {app.name:15} "
                    f"{measurement.wrk.requests_per_second:8.0f} req/s  p50 {measurement.wrk.p50_us / 1000:.1f} ms"
                )
        return [median_of(measurements) for measurements in rounds.values()]

    def measure_breakdown(self):
        """CPU microseconds per layer, from `bench/breakdown.py` run with the service's settings."""
        user = REGULAR_USER.format(0)
        env = {**self.app_env(), "DJANGO_ALLOWED_HOSTS": "127.0.0.1,testserver", "LOG_LEVEL": "WARNING"}
        command = [
            sys.executable,
            "-m",
            "bench.breakdown",
            user,
            self.issuer.token_for(user),
            str(self.run.first_task_id),
        ]
        completed = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=True)
        return json.loads(completed.stdout)

    def context(self, elapsed):
        options = self.options
        return {
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": "python -m bench.run " + " ".join(options.non_default_flags()),
            "scope": "a reduced run (the flags above differ from the defaults): figures are not those of a full run"
            if [flag for flag in options.non_default_flags() if not flag.startswith("--database-url")]
            else "the full default run",
            "seed": f"{options.users:,} users x {options.tasks_per_user} tasks, one user with {options.big_user_tasks:,} "
            f"tasks, {options.total_rows:,} rows in all; deep page at position {self.run.deep_position:,}",
            "load": f"wrk, {options.threads} threads, {options.connections} connections, {options.seconds} s per scenario, "
            f"app and round after {options.warmup_seconds} s of warm-up; soak {options.soak_seconds} s",
            "servers": f"gunicorn, {options.workers} workers x {options.worker_threads} thread(s), DEBUG off, "
            "throttling off; one app at a time",
            "rounds": f"{options.rounds} per scenario, its apps taking turns (the order reversed every other round), "
            "each on a freshly started gunicorn; each figure is the median of the rounds', req/s ranges give them all",
            "logging": LOGGING,
            "database": "; ".join(f"{mode.name}: {mode.description}" for mode in self.modes())
            + "; the table vacuumed before each run, as autovacuum keeps production's",
            "round trip (median SELECT 1)": self.calibration,
            "total time": str(datetime.timedelta(seconds=round(elapsed))),
        }

    def write_results(self, elapsed):
        docs_dir = self.options.docs_dir
        loopback = [m for m in self.measurements if m.mode == LOOPBACK.name]
        remote = [m for m in self.measurements if m.mode != LOOPBACK.name]
        self.emit()
        self.emit(text_table(HEADERS, table_rows(loopback)))
        if remote:
            self.emit()
            self.emit(text_table(HEADERS, table_rows(remote)))
        self.emit()
        targets = target_rows(loopback, self.plans, self.soak_readings) + remote_target_rows(remote)
        for target, figure, holds in targets:
            self.emit(f"{verdict(holds).strip('*'):15} {target}: {figure}")
        self.emit()
        for layer, microseconds in self.breakdown.items():
            self.emit(f"{microseconds:8.0f} us CPU  {layer}")
        docs_dir.mkdir(parents=True, exist_ok=True)
        write_chart(loopback, docs_dir / "performance.png")
        write_note(
            docs_dir / "performance.md",
            context=self.context(elapsed),
            machine=machine_info(self.options.database_url),
            measurements=self.measurements,
            plans=self.plans,
            soak_readings=self.soak_readings,
            breakdown=self.breakdown,
            chart_name="performance.png",
        )

    @property
    def estimated_seconds(self):
        per_run = self.options.seconds + self.options.warmup_seconds + SECONDS_TO_START_AND_STOP
        apps = sum(len(self.apps(scenario, mode)) for mode in self.modes() for scenario in self.selected_scenarios())
        runs = apps * self.options.rounds
        return runs * per_run + self.options.soak_seconds
