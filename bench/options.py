"""The benchmark's options, as data: each one's type, default and help, from which the flags are made."""

import argparse
from dataclasses import dataclass, field, fields
from pathlib import Path

from .paths import DOCS_DIR

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/taskapi_bench_run"
INSTANCES_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/taskapi_bench_instances"


def option(default, help):
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Options:
    """One run's settings; each is the flag `--name-with-dashes`."""

    database_url: str = option(DEFAULT_DATABASE_URL, "dropped and recreated (default: %(default)s)")
    users: int = option(1000, "regular users (default: %(default)s)")
    tasks_per_user: int = option(50, "tasks each regular user has (default: %(default)s)")
    big_user_tasks: int = option(100_000, "tasks of the one big user (default: %(default)s)")
    total_rows: int = option(1_000_000, "table size, topped up with others' tasks")
    deep_position: int = option(90_000, "where the deep page starts (default: %(default)s)")
    delete_pool: int = option(100_000, "tasks seeded for each delete run")
    seconds: int = option(10, "measured seconds per scenario, app and round (default: %(default)s)")
    warmup_seconds: int = option(2, "unmeasured seconds before each (default: %(default)s)")
    rounds: int = option(3, "rounds per scenario, its apps taking turns; figures are medians (default: %(default)s)")
    soak_seconds: int = option(600, "mixed-load run watching worker RSS; 0 skips it")
    threads: int = option(2, "wrk threads (default: %(default)s)")
    connections: int = option(16, "wrk connections (default: %(default)s)")
    workers: int = option(2, "gunicorn workers per app (default: %(default)s)")
    worker_threads: int = option(1, "threads per worker; 1 = the Procfile's sync worker")
    scenarios: str = option("all", "comma list of scenarios (default: all)")
    noauth_scenarios: str = option("list,retrieve", "also run these with authentication off")
    remote_delay_ms: float = option(
        1.0, "run the scenarios again with PostgreSQL this far away each way (bench/pgproxy.py); 0 skips it"
    )
    docs_dir: Path = option(DOCS_DIR, "where performance.md and .png go")

    def non_default_flags(self):
        """The flags that reproduce this run (the output directory aside)."""
        return [
            f"{flag(each)} {getattr(self, each.name)}"
            for each in fields(self)
            if getattr(self, each.name) != each.default and each.name != "docs_dir"
        ]


@dataclass(frozen=True)
class InstancesOptions:
    """`python -m bench.instances`: one to N instances behind deploy/balancer.conf; each is a flag too."""

    database_url: str = option(INSTANCES_DATABASE_URL, "dropped and recreated (default: %(default)s)")
    users: int = option(200, "regular users (default: %(default)s)")
    tasks_per_user: int = option(50, "tasks each regular user has (default: %(default)s)")
    instances: str = option("1,2,3", "instance counts to measure (default: %(default)s)")
    workers: int = option(2, "gunicorn sync workers per instance (default: %(default)s)")
    instance_process: str = option(
        "web", "web: deploy/web.py, nginx in front of gunicorn, as production runs; gunicorn: gunicorn alone"
    )
    scenarios: str = option("list,mix", "comma list of bench.run scenarios (default: %(default)s)")
    rounds: int = option(3, "times every count is measured, counts interleaved (default: %(default)s)")
    seconds: int = option(10, "measured seconds per scenario, count and round (default: %(default)s)")
    warmup_seconds: int = option(3, "unmeasured seconds on each instance, then on the balancer")
    threads: int = option(2, "wrk threads (default: %(default)s)")
    connections: int = option(16, "wrk connections (default: %(default)s)")

    # What bench.session's seeding reads and this command does not vary.
    big_user_tasks = 50
    total_rows = 0
    deep_position = 0
    worker_threads = 1

    non_default_flags = Options.non_default_flags


def flag(each):
    return "--" + each.name.replace("_", "-")


def parse_args(argv=None, description=None, options=Options, prog="python -m bench.run"):
    """`options` (a dataclass of this module) from the command line."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    for each in fields(options):
        parser.add_argument(flag(each), type=each.type, default=each.default, help=each.metadata["help"])
    return options(**vars(parser.parse_args(argv)))
