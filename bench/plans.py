"""PostgreSQL's plans for the big user's first and deep pages, with the list's own SQL."""

import re

import psycopg2

from .floor_app import FIRST_PAGE, LATER_PAGE

ROW_AT = "SELECT created_at, id FROM tasks_task WHERE user_id = %s ORDER BY created_at DESC, id DESC OFFSET %s LIMIT 1"


def explain(cursor, sql, params):
    cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
    return "\n".join(line for (line,) in cursor.fetchall())


def page_plans(database_url, user_id, deep_position, page_size):
    """{"first": plan text, "deep": plan text} for pages of `page_size` (+1 to see a next page)."""
    with psycopg2.connect(database_url, options="-c timezone=UTC") as connection, connection.cursor() as cursor:
        cursor.execute(ROW_AT, (user_id, deep_position - 1))
        created_at, task_id = cursor.fetchone()
        explain(cursor, FIRST_PAGE, (user_id, page_size + 1))  # warms the cache, as the load runs did
        plans = {
            "first": explain(cursor, FIRST_PAGE, (user_id, page_size + 1)),
            "deep": explain(cursor, LATER_PAGE, (user_id, created_at, created_at, created_at, task_id, page_size + 1)),
        }
    connection.close()
    return plans


def reads_only_the_page(plan, page_size):
    """True when an index scan finds the page itself: no Seq Scan, no Sort, no rows read to be thrown away.

    An index scan whose `Index Cond` stops at `user_id` and filters the keyset condition row by
    row walks every earlier row of that user: "Index Scan" alone does not make a deep page cheap.
    """
    removed = [int(count) for count in re.findall(r"Rows Removed by Filter: (\d+)", plan)]
    no_scan_or_sort = "Seq Scan" not in plan and "Sort" not in plan and "Index" in plan
    return no_scan_or_sort and all(count <= page_size + 1 for count in removed)
