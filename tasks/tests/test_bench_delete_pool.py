"""The delete scenario's pool, shared between the warm-up and the measured run (bench/scenarios.py)."""

from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from bench.options import Options
from bench.scenarios import split_pool, warmup_pool_size


def test_the_warm_up_gets_the_pool_in_proportion_to_its_seconds():
    assert warmup_pool_size(Options(delete_pool=20_000, warmup_seconds=2, seconds=5)) == 5715
    assert warmup_pool_size(Options(delete_pool=100_000, warmup_seconds=2, seconds=10)) == 16_667


def test_the_two_shares_follow_each_other_without_overlapping():
    pool = SimpleNamespace(first_id=500)  # what seed_delete_pool returns, as far as split_pool reads it

    warm, measured = split_pool({"BENCH_X": "1"}, pool, 20_000, 5714)

    assert (warm["BENCH_POOL_START"], warm["BENCH_POOL_SIZE"]) == ("0", "5714")
    assert (measured["BENCH_POOL_START"], measured["BENCH_POOL_SIZE"]) == ("5714", "14286")
    assert warm["BENCH_POOL_FIRST_ID"] == measured["BENCH_POOL_FIRST_ID"] == "500"
    assert warm["BENCH_X"] == measured["BENCH_X"] == "1"


def test_a_scenario_without_a_pool_gets_its_environment_twice_unchanged():
    assert split_pool({"BENCH_X": "1"}, None, 20_000, 5714) == ({"BENCH_X": "1"}, {"BENCH_X": "1"})


@given(
    pool_size=st.integers(min_value=100, max_value=1_000_000),
    warmup=st.integers(min_value=1, max_value=60),
    seconds=st.integers(min_value=1, max_value=600),
    rate=st.integers(min_value=1, max_value=20_000),
)
def test_a_warm_up_deleting_as_fast_as_the_measured_run_stays_within_its_share(pool_size, warmup, seconds, rate):
    warm_size = warmup_pool_size(Options(delete_pool=pool_size, warmup_seconds=warmup, seconds=seconds))

    assert 0 <= warm_size < pool_size
    if rate * seconds <= pool_size - warm_size:  # the measured run has enough tasks at this rate...
        assert rate * warmup <= warm_size  # ...and so has the warm-up
