"""Read replicas: list, retrieve and stats read from DATABASE_REPLICA_URL; people see their own writes.

The rule (read-your-writes, across instances): once a person's write has committed, the API
stores the primary's WAL position (`pg_current_wal_lsn()`, taken after the commit) under that
person, keeping the furthest of concurrent ones, in Redis for DATABASE_REPLICA_MARK_SECONDS (in
the process's memory without REDIS_URL). Before a read of theirs, the replica says how far it has
replayed (`pg_last_wal_replay_lsn()`): at or past that person's position, the read goes to the
replica; behind it, to the primary. A person with no stored position reads from the replica.
Anything that cannot be known sends the read to the primary: Redis failing, the replica failing
(then it is not tried again by this process for CIRCUIT_BREAKER_COOLDOWN seconds), or a "replica"
that is not replaying at all. Writes, the admin and management commands never leave the primary:
only the API's read actions (`ReplicaReadsMixin`) ever route to the replica.
"""

import contextvars
import functools
import logging
import threading

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from redis.exceptions import RedisError
from rest_framework.permissions import SAFE_METHODS

from . import circuit

logger = logging.getLogger(__name__)

REPLICA = "replica"
READ_ACTIONS = frozenset({"list", "retrieve", "stats"})

# The alias the router gives reads in this request; None (the default) leaves them on the primary.
reads_from = contextvars.ContextVar("reads_from", default=None)

# A WAL position as 16 hex digits, so that Redis (whose Lua numbers are doubles) can compare
# positions as strings. One atomic step: concurrent writes cannot lower a person's position.
KEEP_FURTHEST = """
local current = redis.call('GET', KEYS[1])
if not current or current < ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
    redis.call('EXPIRE', KEYS[1], ARGV[2])
end
"""


class ReplicaRouter:
    """Reads go where the current request says (the primary unless an API read chose the replica)."""

    def db_for_read(self, model, **hints):
        return reads_from.get()

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return False if db == REPLICA else None


def replica_configured():
    return REPLICA in settings.DATABASES


def lsn_to_int(lsn):
    """PostgreSQL's `X/Y` WAL position (two hex halves) as one integer."""
    high, low = lsn.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def mark_key(user_id):
    return f"{settings.REDIS_KEY_PREFIX}replica-lsn:{user_id}"


@functools.cache
def shared_marks(url):
    """The keep-furthest script on a connection pool for `url`, one per process."""
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    return client, client.register_script(KEEP_FURTHEST)


local_marks_lock = threading.Lock()


def remember_position(user_id, position):
    """Stores `position` as the person's last write unless a further one is stored already."""
    ttl = settings.DATABASE_REPLICA_MARK_SECONDS
    if settings.REDIS_URL:
        _, keep_furthest = shared_marks(settings.REDIS_URL)
        with circuit.redis:
            keep_furthest(keys=[mark_key(user_id)], args=[f"{position:016X}", ttl])
        return
    with local_marks_lock:  # the local-memory cache is this process's own; the lock makes it atomic
        current = cache.get(mark_key(user_id))
        cache.set(mark_key(user_id), max(position, current or 0), ttl)


def last_position(user_id):
    """The WAL position of the person's last write still remembered, or None."""
    if settings.REDIS_URL:
        client, _ = shared_marks(settings.REDIS_URL)
        with circuit.redis:
            stored = client.get(mark_key(user_id))
        return None if stored is None else int(stored, 16)
    return cache.get(mark_key(user_id))


def remember_write(user_id):
    """After a committed write: the person's next reads wait for the replica to replay it."""
    if not replica_configured():
        return
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()")
            position = lsn_to_int(cursor.fetchone()[0])
        remember_position(user_id, position)
    except (DatabaseError, RedisError) as e:
        # The write stands and is acknowledged; the person's reads may lag it until the replica catches up.
        logger.warning("write position not stored, reads may lag it: %s", e.__class__.__name__)


def replayed_position():
    """How far the replica has replayed (None: it is not replaying); raises DatabaseError when down."""
    with circuit.replica, connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT pg_last_wal_replay_lsn()")
        replayed = cursor.fetchone()[0]
    return None if replayed is None else lsn_to_int(replayed)


def database_for_reads(user_id):
    """The alias this person's reads should use now: the replica if it has all their writes."""
    if not replica_configured() or circuit.replica.opened or (settings.REDIS_URL and circuit.redis.opened):
        return DEFAULT_DB_ALIAS
    try:
        written = last_position(user_id)
    except RedisError as e:
        logger.warning("reads sent to the primary, write positions unreadable: %s", e.__class__.__name__)
        return DEFAULT_DB_ALIAS
    try:
        replayed = replayed_position()
    except DatabaseError as e:
        logger.warning(
            "replica unavailable (%s); reads go to the primary for %s s",
            e.__class__.__name__,
            settings.CIRCUIT_BREAKER_COOLDOWN,
        )
        connections[REPLICA].close()
        return DEFAULT_DB_ALIAS
    if written is None:
        return REPLICA
    return REPLICA if replayed is not None and replayed >= written else DEFAULT_DB_ALIAS


class ReplicaReadsMixin:
    """For a viewset: read actions route to the replica when it has the caller's writes; writes are marked."""

    read_actions = READ_ACTIONS

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.action in self.read_actions:
            self.reads_from_token = reads_from.set(database_for_reads(request.user.id))

    def finalize_response(self, request, response, *args, **kwargs):
        token = getattr(self, "reads_from_token", None)
        if token is not None:
            reads_from.reset(token)
        elif request.method not in SAFE_METHODS and 200 <= response.status_code < 300:
            remember_write(request.user.id)
        return super().finalize_response(request, response, *args, **kwargs)
