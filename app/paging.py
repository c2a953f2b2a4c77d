"""Pages of rows already in memory (a district's per-school table, computed set-based), shaped
like Flask-SQLAlchemy's pagination so the shared ``pagination`` macro (templates/_macros.html)
draws them."""
from __future__ import annotations

from flask_sqlalchemy.pagination import Pagination

PER_PAGE = 50


class ListPage(Pagination):
    """One page of ``rows``; a page number past the end shows the last page."""

    def __init__(self, rows: list, page: int = 1, per_page: int = PER_PAGE):
        last = max(1, -(-len(rows) // per_page))
        super().__init__(rows=rows, page=min(max(1, page), last), per_page=per_page, max_per_page=None,
                         error_out=False)

    def _query_items(self):
        rows = self._query_args["rows"]
        return rows[self._query_offset:self._query_offset + self.per_page]

    def _query_count(self):
        return len(self._query_args["rows"])
