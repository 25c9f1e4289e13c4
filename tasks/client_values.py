"""The limits a client's value meets before it reaches PostgreSQL, `int()`, a header or a column.

One rule per kind of value (whole numbers, text, instants, token times), shared by the query
filters, the cursor, the conditional headers, the body's fields and the token's claims, so that
a kind of value is refused the same way wherever it comes in, and answered 400 (401 for a
token) rather than failing deeper down with a 500.
"""

import math
import re
from datetime import datetime, timezone

from django.utils.dateparse import parse_datetime

# ASCII only: int() also reads "١٢" (Arabic-Indic digits), " 12 " and "1_2", and str.isdigit()
# passes "²", which int() then refuses. Nineteen digits hold any bigint, and int() stays cheap.
WHOLE_NUMBER = re.compile(r"[0-9]{1,19}")
MAX_BIGINT = 2**63 - 1

# PostgreSQL's text cannot hold NUL, and UTF-8 cannot carry a lone surrogate (which JSON can
# spell as "\ud800"); other control characters would reach logs and headers.
UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")

# Python's datetime, PostgreSQL and SQLite all hold years 1 to 9999; token times are seconds
# since 1970 within the same span, so an `exp` in milliseconds (year ~57000) is out of range.
LATEST_INSTANT = datetime.max.replace(tzinfo=timezone.utc)
LATEST_EPOCH_SECONDS = math.floor(LATEST_INSTANT.timestamp())


class OutOfRange(ValueError):
    """A client's value that the service cannot store, compare or compute with."""


def whole_number(raw, minimum, maximum):
    """`raw`, written in ASCII digits, as an int within [minimum, maximum]; else OutOfRange."""
    if not isinstance(raw, str) or not WHOLE_NUMBER.fullmatch(raw):
        raise OutOfRange(f"Must be a whole number from {minimum} to {maximum}, in digits 0-9.")
    value = int(raw)
    if not minimum <= value <= maximum:
        raise OutOfRange(f"Must be a whole number from {minimum} to {maximum}.")
    return value


def storable_text(value):
    """`value` if it is a string PostgreSQL can store (no NUL, no lone surrogate); else OutOfRange."""
    if not isinstance(value, str):
        raise OutOfRange("Must be a string.")
    if UNSTORABLE_TEXT.search(value):
        raise OutOfRange("NUL and unpaired surrogate characters are not allowed.")
    return value


def in_utc(moment):
    """The same instant in UTC; OutOfRange when that falls outside the years 1 to 9999.

    Any offset Python reads (up to ±23:59) is accepted and converted, so PostgreSQL, which
    refuses offsets beyond ±15:59, only ever sees UTC.
    """
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError as e:
        raise OutOfRange("The instant is outside the years 1 to 9999 in UTC.") from e


def parse_instant(value):
    """An ISO 8601 timestamp with a UTC offset, as an instant in UTC; else OutOfRange."""
    try:
        moment = parse_datetime(storable_text(value))
    except ValueError as e:
        raise OutOfRange("Not a valid ISO 8601 timestamp.") from e
    if moment is None or moment.tzinfo is None:
        raise OutOfRange("Use an ISO 8601 timestamp with a UTC offset.")
    return in_utc(moment)


def epoch_seconds(value):
    """A token's NumericDate (exp, iat, nbf): a finite number of seconds from 1970 to 9999."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise OutOfRange("must be a number")
    if not 0 <= value <= LATEST_EPOCH_SECONDS:  # NaN fails this comparison too
        raise OutOfRange("must be a time from 1970 to 9999 in seconds")
    return value
