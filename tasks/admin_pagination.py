"""The admin's paginator: the planner's row estimate instead of counting the whole table."""

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

# Below this many rows an exact count is cheap, and small tables show the truth.
EXACT_COUNT_BELOW = 10_000


class EstimatedCountPaginator(Paginator):
    """Counts filtered lists exactly; the unfiltered table on PostgreSQL from `pg_class.reltuples`.

    `SELECT COUNT(*)` reads every row (PostgreSQL keeps no row count), so at a million tasks the
    changelist would scan the table on every page. `reltuples` is kept by autovacuum's ANALYZE and
    is usually within a few percent; for a page count nobody needs more. Filters and searches
    select fewer rows and are still counted exactly, so their pages and totals are right.
    """

    @cached_property
    def count(self):
        estimate = self.whole_table_estimate()
        if estimate is not None and estimate >= EXACT_COUNT_BELOW:
            return estimate
        return super().count

    def whole_table_estimate(self):
        """The planner's row count, when the list is a whole PostgreSQL table; otherwise None."""
        queryset = self.object_list
        connection = connections[queryset.db]
        if connection.vendor != "postgresql" or queryset.query.where:
            return None
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                [connection.ops.quote_name(queryset.model._meta.db_table)],
            )
            return cursor.fetchone()[0]
