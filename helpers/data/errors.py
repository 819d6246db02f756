"""The one error the data layer raises: it names the file and says what to do."""

from __future__ import annotations


class DataError(RuntimeError):
    """A dataset, photo, text or weights file is missing, unreadable or not what it claims."""
