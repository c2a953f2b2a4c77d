"""Shared pieces of Excel import and export.

Exports: a text cell a spreadsheet would run as a formula (= + - @, tab, CR, LF) is written
with a leading apostrophe (OWASP formula injection). Imports: a whole file is refused with
ImportRejected; each problem in it is a RowError (sheet, row, column, message in Chinese).
"""
from __future__ import annotations

from dataclasses import dataclass

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class ImportRejected(ValueError):
    """The file as a whole cannot be read (type, size, layout); the message is Chinese."""


@dataclass
class RowError:
    sheet: str
    row: int
    column: str
    message: str
