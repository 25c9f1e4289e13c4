"""A client-side deadline on every wait for PostgreSQL in the web process.

`statement_timeout` is enforced by the server, so it cannot fire when the server itself is
frozen (a paused process, a hung host, connections still open), and a cancel request would go
to the same frozen postmaster. psycopg2 lets the application do the waiting instead
(`extensions.set_wait_callback`): every connect and query then runs asynchronously under
`wait_with_deadline`, which gives up after DATABASE_RESPONSE_TIMEOUT seconds
(DATABASE_CONNECT_TIMEOUT while connecting). Raising from the callback makes psycopg2 mark the
connection broken, so Django discards it at once (its `is_usable()` check fails without another
wait), and the answer is the API's JSON 503. The timeout opens tasks.circuit's database breaker:
for the cooldown every wait in this process fails at once, so a frozen database costs each
worker one timeout per cooldown instead of one per request.

Connections are kept between requests (DATABASE_CONN_MAX_AGE); before each request, those the
server has closed meanwhile are dropped by looking at their sockets, not by a query.
"""

import select
import time

import psycopg2
from django.conf import settings
from django.core.signals import request_started
from django.db import connections
from django.db.backends.signals import connection_created
from psycopg2 import extensions

from . import circuit


class DatabaseResponseTimeout(circuit.DatabaseTimeout, psycopg2.OperationalError):
    """PostgreSQL did not answer within the deadline; the connection is dropped."""


class DatabaseCircuitOpen(psycopg2.OperationalError):
    """PostgreSQL timed out recently; it is not waited for again until the cooldown ends."""


def wait_with_deadline(conn):
    """psycopg2's wait callback: poll the connection until done, or raise at the deadline."""
    connecting = conn.status == extensions.STATUS_SETUP
    if goes_to_replica(conn):
        # The replica's failures are tasks.replica's to handle (reads move to the primary); they
        # must neither open nor close the primary's breaker.
        timeout = settings.DATABASE_REPLICA_CONNECT_TIMEOUT if connecting else settings.DATABASE_RESPONSE_TIMEOUT
        wait_until(conn, time.monotonic() + timeout, timeout)
        return
    if circuit.database.opened:
        raise DatabaseCircuitOpen("PostgreSQL timed out recently; not waiting for it during the cooldown")
    timeout = settings.DATABASE_CONNECT_TIMEOUT if connecting else settings.DATABASE_RESPONSE_TIMEOUT
    with circuit.database:
        wait_until(conn, time.monotonic() + timeout, timeout)


def goes_to_replica(conn):
    """Whether this psycopg2 connection was opened to DATABASE_REPLICA_URL's server and database."""
    replica = settings.DATABASES.get("replica")
    if replica is None:
        return False
    dsn = conn.get_dsn_parameters()
    return (dsn.get("host"), dsn.get("port"), dsn.get("dbname")) == (
        replica["HOST"],
        str(replica["PORT"]),
        replica["NAME"],
    )


def wait_until(conn, deadline, timeout):
    while True:
        state = conn.poll()
        if state == extensions.POLL_OK:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DatabaseResponseTimeout(f"no answer from PostgreSQL within {timeout} s")
        poller = select.poll()
        poller.register(conn.fileno(), select.POLLIN if state == extensions.POLL_READ else select.POLLOUT)
        poller.poll(remaining * 1000)


def set_statement_timeout(sender, connection, **kwargs):
    """A healthy but slow statement is cancelled by the server, leaving the connection usable."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = %s", [f"{settings.DATABASE_STATEMENT_TIMEOUT}s"])


def close_connections_the_server_closed(sender, **kwargs):
    """Before a request, drops each kept connection PostgreSQL has hung up on (a restart), without a round trip.

    Django's own check (CONN_HEALTH_CHECKS) sends `SELECT 1` before a request's first query: one
    more round trip on every request. Between requests an idle connection has nothing to read, so
    a readable socket means the server has closed it (end of stream) or is saying goodbye (the
    FATAL message of a shutdown): it is closed here, locally, and the request opens a fresh one
    instead of failing on the dead one. What this cannot see (a host gone without a word) the
    response deadline above bounds.
    """
    for connection in connections.all(initialized_only=True):
        if connection.vendor == "postgresql" and connection.connection is not None and hung_up(connection.connection):
            connection.close()


def hung_up(raw_connection):
    """True when psycopg2 knows the connection is gone, or its idle socket has something to read."""
    if raw_connection.closed:
        return True
    poller = select.poll()
    poller.register(raw_connection.fileno(), select.POLLIN)
    return bool(poller.poll(0))


def bound_database_waits():
    """Installs the deadline, the stale-connection check and (unless pooled) the statement timeout."""
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return
    extensions.set_wait_callback(wait_with_deadline)
    request_started.connect(close_connections_the_server_closed, dispatch_uid="tasks.database.stale_connections")
    # Behind PgBouncer in transaction mode a SET would stay on a shared server connection:
    # set statement_timeout on the database role there instead (README, "Deploying").
    if not settings.DATABASE_POOLED:
        connection_created.connect(set_statement_timeout, dispatch_uid="tasks.database.statement_timeout")
