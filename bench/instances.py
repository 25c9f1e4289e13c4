"""`python -m bench.instances`: what one, two and three instances behind nginx do on this machine.

Seeds a database of its own, then for each instance count starts that many taskapi instances
(as production runs them, deploy/web.py: nginx in front of gunicorn; `--instance-process gunicorn`
for gunicorn alone; `--workers` sync workers each, never replaced mid-run) behind nginx with
deploy/balancer.conf, warms every instance directly, then loads the balancer with wrk (the list
and mix scenarios of `python -m bench.run`). Counts are interleaved and repeated (`--rounds`), so
a neighbour's burst on a shared machine lands on one sample rather than on one count. Every
instance shares one PostgreSQL and this machine's cores: the figures show what adding instances
on one box gives, not what adding boxes gives.
"""

import os
import statistics
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from .options import InstancesOptions, parse_args
from .run import TOKEN_LIFETIME, emit, ensure_tools
from .scenarios import SCENARIOS, base_env
from .servers import App, Balancer, Gunicorn, Web

HEADERS = [
    "scenario",
    "instances",
    "workers",
    "req/s median",
    "req/s min-max",
    "p50 ms",
    "p99 ms",
    "worker CPU ms/req",
    "instance nginx CPU ms/req",
    "balancer CPU ms/req",
    "errors",
]


@dataclass(frozen=True)
class Sample:
    """One measured window: wrk's figures, and the CPU the workers and the balancer spent in it."""

    scenario: str
    instances: int
    wrk: object
    worker_cpu_ms_per_request: float
    instance_nginx_cpu_ms_per_request: float
    balancer_cpu_ms_per_request: float


def measure(run, app, scenario, count):
    """`count` fresh instances, each warmed directly, then the balancer over them, warmed and measured."""
    options = run.options
    env = base_env(run, app)
    server = {"web": Web, "gunicorn": Gunicorn}[options.instance_process]
    with ExitStack() as stack:
        instances = [
            stack.enter_context(server(app, workers=options.workers, threads=options.worker_threads))
            for _ in range(count)
        ]
        # Directly, so that every worker of every instance has booted and served before the
        # measured window: a worker's first seconds (imports, JWKS, connection) are not the load.
        for instance in instances:
            run.wrk(instance, scenario.script, env, options.warmup_seconds)
        balancer = stack.enter_context(Balancer(instances))
        run.wrk(balancer, scenario.script, env, options.warmup_seconds)
        workers = {pid for instance in instances for pid in instance.worker_pids()}
        before = spent_cpu(instances, balancer)
        result = run.wrk(balancer, scenario.script, env, options.seconds)
        after = spent_cpu(instances, balancer)
        if {pid for instance in instances for pid in instance.worker_pids()} != workers:
            raise RuntimeError("a worker was replaced during the measured window; its CPU would be lost")
    return Sample(
        scenario=scenario.name,
        instances=count,
        wrk=result,
        **{name: 1000 * (after[name] - before[name]) / result.requests for name in before},
    )


def spent_cpu(instances, balancer):
    """CPU seconds so far of the instances' workers, the instances' own nginx (with --instance-process
    web) and the balancer, by the Sample field they become per request."""
    return {
        "worker_cpu_ms_per_request": sum(instance.worker_cpu_seconds() for instance in instances),
        "instance_nginx_cpu_ms_per_request": sum(instance.proxy_cpu_seconds() for instance in instances),
        "balancer_cpu_ms_per_request": balancer.cpu_seconds(),
    }


def summary_rows(samples, options):
    """One row per scenario and count: medians over the rounds, and the spread of req/s."""
    rows = []
    for scenario in dict.fromkeys(sample.scenario for sample in samples):
        for count in dict.fromkeys(sample.instances for sample in samples):
            group = [s for s in samples if s.scenario == scenario and s.instances == count]
            rates = [s.wrk.requests_per_second for s in group]
            rows.append(
                [
                    scenario,
                    count,
                    count * options.workers,
                    f"{statistics.median(rates):.0f}",
                    f"{min(rates):.0f}-{max(rates):.0f}",
                    f"{statistics.median(s.wrk.p50_us for s in group) / 1000:.0f}",
                    f"{statistics.median(s.wrk.p99_us for s in group) / 1000:.0f}",
                    f"{statistics.median(s.worker_cpu_ms_per_request for s in group):.2f}",
                    f"{statistics.median(s.instance_nginx_cpu_ms_per_request for s in group):.2f}",
                    f"{statistics.median(s.balancer_cpu_ms_per_request for s in group):.2f}",
                    sum(s.wrk.errors for s in group),
                ]
            )
    return rows


def main(argv=None):
    options = parse_args(argv, __doc__, InstancesOptions, prog="python -m bench.instances")
    ensure_tools()
    # Imported here: they need matplotlib, checked just above.
    from .issuer import TokenIssuer
    from .note import machine_info
    from .report import markdown_table
    from .session import BenchSession

    scenarios = [s for s in SCENARIOS if s.name in options.scenarios.split(",")]
    counts = [int(n) for n in options.instances.split(",")]
    samples = []
    with tempfile.TemporaryDirectory(prefix="taskapi-bench-") as workdir, TokenIssuer(TOKEN_LIFETIME) as issuer:
        session = BenchSession(options, Path(workdir), issuer, emit)
        session.prepare_database()
        app = App("service", "taskapi.wsgi", session.app_env())
        for round_number in range(1, options.rounds + 1):
            for scenario in scenarios:
                for count in counts:
                    sample = measure(session.run, app, scenario, count)
                    samples.append(sample)
                    emit(
                        f"round {round_number} {scenario.name:5} {count} instance(s): "
                        f"{sample.wrk.requests_per_second:5.0f} req/s, worker CPU "
                        f"{sample.worker_cpu_ms_per_request:.2f} ms/req, load average {os.getloadavg()[0]:.1f}"
                    )
    emit()
    emit("python -m bench.instances " + " ".join(options.non_default_flags()))
    emit("; ".join(f"{name}: {value}" for name, value in machine_info(options.database_url).items()))
    emit(markdown_table(HEADERS, summary_rows(samples, options)))


if __name__ == "__main__":
    sys.exit(main())
