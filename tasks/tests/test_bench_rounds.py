"""The benchmark's rounds: one app's rounds of a scenario become one row of medians (bench/scenarios.py)."""

from hypothesis import given
from hypothesis import strategies as st

from bench.load import WrkResult
from bench.scenarios import Measurement, median_of


def a_round(requests, p50_us, cpu_ms, served, round_trips=None, non_2xx=0):
    return Measurement(
        app="service",
        scenario="list",
        wrk=WrkResult(
            requests=requests,
            duration_us=10_000_000,
            p50_us=p50_us,
            p99_us=3 * p50_us,
            non_2xx=non_2xx,
            socket_errors=0,
        ),
        queries_per_request=1.0,
        worker_cpu_ms_per_request=cpu_ms,
        worker_rss_bytes=[requests],
        requests_served=served,
        round_trips_per_request=round_trips,
    )


def test_the_median_round_gives_req_per_s_and_each_figure_its_own_median():
    rounds = [a_round(900, 4000, 2.0, 1000), a_round(1500, 2000, 1.0, 1600), a_round(1000, 3000, 3.0, 1100)]

    row = median_of(rounds)

    assert row.wrk.requests == 1000
    assert row.wrk.p50_us == 3000
    assert row.worker_cpu_ms_per_request == 2.0
    assert sorted(row.rounds_requests_per_second) == [90.0, 100.0, 150.0]
    assert row.requests_served == 3700


def test_errors_of_every_round_are_counted_and_round_trips_are_over_every_request():
    rounds = [a_round(1000, 3000, 1.0, 1000, round_trips=1.0, non_2xx=2), a_round(1000, 3000, 1.0, 3000, 2.0, 5)]

    row = median_of(rounds)

    assert row.wrk.errors == 7
    assert row.round_trips_per_request == (1000 * 1.0 + 3000 * 2.0) / 4000


@given(
    st.lists(
        st.tuples(st.integers(1, 10**6), st.integers(1, 10**6), st.floats(0.01, 100.0), st.integers(1, 10**6)),
        min_size=1,
        max_size=7,
    )
)
def test_every_median_lies_within_its_rounds(figures):
    rounds = [a_round(requests, p50, cpu, requests + served) for requests, p50, cpu, served in figures]

    row = median_of(rounds)

    rates = [m.wrk.requests_per_second for m in rounds]
    assert min(rates) <= row.wrk.requests_per_second <= max(rates)
    assert min(m.wrk.p50_us for m in rounds) <= row.wrk.p50_us <= max(m.wrk.p50_us for m in rounds)
    cpu = [m.worker_cpu_ms_per_request for m in rounds]
    assert min(cpu) <= row.worker_cpu_ms_per_request <= max(cpu)
    below = sum(rate < row.wrk.requests_per_second for rate in rates)
    above = sum(rate > row.wrk.requests_per_second for rate in rates)
    assert below <= len(rounds) // 2 and above <= len(rounds) // 2
