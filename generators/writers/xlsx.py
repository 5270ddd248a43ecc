"""XLSX through xlsxwriter in constant-memory mode: rows go to a temporary file as they come.

Excel holds at most 1,048,576 rows in a sheet. Longer datasets spill into further sheets
named ``users (2)``, ``users (3)``…, each with its own header row, so no row is lost and
each sheet opens in Excel. Values keep their types: numbers as numbers (integers beyond
±2**53 lose precision, as in Excel itself), booleans as booleans, dates as dates
(``yyyy-mm-dd``), timestamps as date-times in their own zone's wall time (Excel has no
zones). Strings are written as text, never read as formulas, numbers or links.

Not concatenable (a zip file): blocks only fill the sheets' temporary files and return no
bytes; ``finish`` assembles the zip into a temporary file and yields it in 1 MiB chunks.
The plan for sharding (issue 4): XLSX stays a single-worker format (at ~1M rows a sheet it
is small enough); the planner gives it one shard. Timestamps inside the zip and the
workbook's creation date are fixed, so the same spec gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import xlsxwriter  # type: ignore[import-untyped]

from generators.writers.base import EncoderSettings
from generators.writers.options import XLSX_SHEET_CHARS

EXCEL_MAX_ROWS = 1_048_576
CHUNK_BYTES = 1 << 20
FIXED_CREATED = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def sheet_name_for(dataset_name: str) -> str:
    """Return a sheet name from a dataset name: forbidden characters dropped, short enough
    to take a `` (n)`` suffix."""
    name = _SHEET_FORBIDDEN.sub("_", dataset_name).strip("'")[: XLSX_SHEET_CHARS - 4].strip()
    return name or "data"


class XlsxEncoder:
    """Encodes blocks into sheets of one workbook; the state is the open workbook."""

    def __init__(self, settings: EncoderSettings, max_sheet_rows: int = EXCEL_MAX_ROWS) -> None:
        self.max_sheet_rows = max_sheet_rows  # header row included
        self.sheet_base = settings.options.sheet or sheet_name_for(settings.dataset_name)
        self._folder = Path(tempfile.mkdtemp(prefix="tdbuddy-xlsx-"))
        self._path = self._folder / "book.xlsx"
        self._book = xlsxwriter.Workbook(
            str(self._path),
            {
                "constant_memory": True,
                "tmpdir": str(self._folder),
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "nan_inf_to_errors": True,
                "remove_timezone": True,
            },
        )
        self._book.set_properties({"created": FIXED_CREATED})
        self._date = self._book.add_format({"num_format": "yyyy-mm-dd"})
        self._datetime = self._book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self._sheet: Any = None
        self._sheets = 0
        self._next_row = max_sheet_rows  # no sheet yet: the first row opens one
        self._names: list[str] = []

    def encode(self, table: pa.Table, block_index: int) -> bytes:
        self._names = table.schema.names
        writers = [self._cell_writer(column.type) for column in table.columns]
        columns = [column.to_pylist() for column in table.columns]
        for values in zip(*columns, strict=True):
            if self._next_row == self.max_sheet_rows:
                self._open_sheet()
            sheet, row = self._sheet, self._next_row
            for col, (write, value) in enumerate(zip(writers, values, strict=True)):
                if value is not None:
                    write(sheet, row, col, value)
            self._next_row = row + 1
        return b""

    def finish(self) -> Iterator[bytes]:
        try:
            if self._sheet is None:
                self._open_sheet()
            self._book.close()
            with self._path.open("rb") as book:
                while chunk := book.read(CHUNK_BYTES):
                    yield chunk
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)

    def _open_sheet(self) -> None:
        self._sheets += 1
        suffix = "" if self._sheets == 1 else f" ({self._sheets})"
        self._sheet = self._book.add_worksheet(self.sheet_base + suffix)
        for col, name in enumerate(self._names):
            self._sheet.write_string(0, col, name)
        self._next_row = 1

    def _cell_writer(self, kind: pa.DataType) -> Callable[[Any, int, int, Any], Any]:
        """Return the function that writes one value of an Arrow type into a cell."""
        if pa.types.is_boolean(kind):
            return lambda sheet, row, col, value: sheet.write_boolean(row, col, value)
        if pa.types.is_integer(kind) or pa.types.is_floating(kind):
            return lambda sheet, row, col, value: sheet.write_number(row, col, value)
        if pa.types.is_decimal(kind):
            return lambda sheet, row, col, value: sheet.write_number(row, col, float(value))
        if pa.types.is_date(kind):
            date = self._date
            return lambda sheet, row, col, value: sheet.write_datetime(row, col, value, date)
        if pa.types.is_timestamp(kind):
            stamp = self._datetime
            return lambda sheet, row, col, value: sheet.write_datetime(row, col, value, stamp)
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            return lambda sheet, row, col, value: sheet.write_string(row, col, value)
        return lambda sheet, row, col, value: sheet.write_string(row, col, str(value))

    def __del__(self) -> None:
        shutil.rmtree(self._folder, ignore_errors=True)
