"""``Filters`` compiled to a SQL condition on ``papers AS p``: the meaning of
:meth:`papersift.query.Filters.accepts`, which the contract suites hold this to.

The author filter compares names as :func:`papersift.query.name_key` writes them, kept
beside each name in ``paper_authors.name_key``: a GIN index over each name's words
(``to_tsvector('simple', name_key)``, a phrase query) finds the candidates, and the exact
test (the value's words consecutive and whole within one name) decides.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql

from papersift.query import Filters

__all__ = ["filter_sql"]

_AUTHOR = sql.SQL(
    "EXISTS (SELECT 1 FROM paper_authors a WHERE a.paper = p.key "
    "AND a.words @@ phraseto_tsquery('simple', {key}) "
    "AND strpos(' ' || a.name_key || ' ', {padded}) > 0)"
)


def filter_sql(filters: Filters | None) -> tuple[sql.Composable, list[Any]]:
    """``(condition, parameters)``; ``TRUE`` when there are no filters."""
    if not filters:
        return sql.SQL("TRUE"), []
    parts: list[sql.Composable] = []
    params: list[Any] = []
    if filters.since:
        parts.append(sql.SQL("p.published >= %s"))
        params.append(filters.since)
    if filters.until:
        parts.append(sql.SQL("p.published <= %s"))
        params.append(filters.until)
    if filters.categories:
        parts.append(sql.SQL("p.categories && %s::text[]"))
        params.append(list(filters.categories))
    if filters.ids:
        parts.append(sql.SQL("p.id = ANY(%s::text[])"))
        params.append(list(filters.ids))
    for key in filters.author_keys:
        if not key:  # a value with no letters or digits names nobody
            return sql.SQL("FALSE"), []
        parts.append(_AUTHOR.format(key=sql.Placeholder(), padded=sql.Placeholder()))
        params += [key, f" {key} "]
    return sql.SQL(" AND ").join(parts), params
