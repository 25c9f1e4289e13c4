"""utc_iso writes an instant as DRF's DateTimeField does, whatever offset it arrives in."""

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st
from rest_framework.fields import DateTimeField

from tasks.timestamps import utc_iso

OFFSETS = st.sampled_from([UTC, timezone.utc, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9, minutes=-30))])


@given(moment=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)), offset=OFFSETS)
def test_utc_iso_is_drfs_representation_in_utc(moment, offset):
    aware = moment.replace(tzinfo=offset)
    assert utc_iso(aware) == DateTimeField().to_representation(aware.astimezone(UTC))
    assert utc_iso(aware).endswith("Z")


def test_none_stays_none():
    assert utc_iso(None) is None
