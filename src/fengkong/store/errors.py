"""What the store raises, and what the service answers for each.

* :class:`StoreUnavailable` — the database did not confirm a write (disk full, read-only
  file, lock held too long, PostgreSQL down or restarted). Nothing was written; the service
  answers 503 and gives no decision (fail closed). The store itself keeps running: the
  next write tries again on a fresh connection.
* :class:`DuplicateDecision` — an idempotency key sent again with another application id
  (409/422 in the service).
* :class:`ReviewNotFound` — no review item for that decision (404). It is also a
  ``KeyError``, so ``except KeyError`` reads naturally at the call site.
* :class:`ReviewClosed` — the review was already resolved (409).
* :class:`VersionConflict` — a strategy version hash stored again with other content.
* :class:`StoreError` — everything else the caller got wrong: a record that is not JSON,
  an aware datetime missing, an unknown cursor, a URL that names no database.
"""

from __future__ import annotations

from fengkong.errors import FengkongError


class StoreError(FengkongError):
    """A request the store refuses (bad record, bad cursor, bad URL...)."""

    kind = "store"


class StoreUnavailable(StoreError):
    """The database cannot confirm a write or answer a read right now; nothing was written."""

    kind = "store_unavailable"


class DuplicateDecision(StoreError):
    """An idempotency key that already decided another application."""

    kind = "duplicate_decision"


class ReviewNotFound(StoreError, KeyError):
    """No review item for this decision."""

    kind = "review_not_found"

    def __str__(self) -> str:  # KeyError would quote the message
        return FengkongError.__str__(self)


class ReviewClosed(StoreError):
    """The review item was already resolved; a review is resolved once."""

    kind = "review_closed"


class VersionConflict(StoreError):
    """A strategy version hash that is already stored with different content."""

    kind = "version_conflict"
