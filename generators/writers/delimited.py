"""CSV and TSV: header on or off, any ASCII delimiter, three quoting styles, two line
endings, and UTF-8, UTF-8 with a BOM or CP932 (Shift_JIS) for Japanese Excel.

Quoting styles: ``minimal`` quotes a value only when it holds the delimiter, a quote or a
line break, or is an empty string (so it reads back apart from null); ``all`` quotes every
non-null value; ``none`` writes no quotes at all as long as no value needs them, and still
quotes a value that would otherwise break its row, so the file always reads back.

CP932 cannot hold every character (𩸽, 𠮟 with its JIS X 0213 form, most emoji...): each such
character becomes ``〓`` (the geta mark, the customary stand-in in Japanese text) instead of
failing the job. Characters that only differ between Unicode's JIS mapping and Windows'
(WAVE DASH 〜, minus sign −, ‖, —, ¢, £, ¬) are first mapped to the CP932 forms Excel shows.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.csv as pa_csv  # type: ignore[import-untyped]

from generators.writers.base import EncoderSettings, no_footer
from generators.writers.options import Quote
from generators.writers.text import as_array, contains_any, plain_text, rows_bytes, string_data

CSV_BATCH_ROWS = 65_536
UTF8_BOM = b"\xef\xbb\xbf"
CP932_UNMAPPABLE = "\u3013"  # 〓
_CP932_ERRORS = "tdbuddy.cp932_geta"
# Unicode's JIS mapping vs. Windows' for the same Shift_JIS codes: Python's cp932 codec
# knows only the Windows side.
_TO_CP932_FORMS = str.maketrans(
    {
        "\u301c": "\uff5e",  # WAVE DASH → FULLWIDTH TILDE
        "\u2016": "\u2225",  # DOUBLE VERTICAL LINE → PARALLEL TO
        "\u2212": "\uff0d",  # MINUS SIGN → FULLWIDTH HYPHEN-MINUS
        "\u2014": "\u2015",  # EM DASH → HORIZONTAL BAR
        "\u00a2": "\uffe0",  # CENT SIGN → FULLWIDTH CENT SIGN
        "\u00a3": "\uffe1",  # POUND SIGN → FULLWIDTH POUND SIGN
        "\u00ac": "\uffe2",  # NOT SIGN → FULLWIDTH NOT SIGN
    }
)
_CP932_FIXABLE = tuple(chr(code) for code in _TO_CP932_FORMS)
# Characters the text of a number, date, time or boolean can contain.
_RENDERED_PUNCTUATION = "-.:+ "


def _geta_for_unmappable(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    return CP932_UNMAPPABLE * (error.end - error.start), error.end


codecs.register_error(_CP932_ERRORS, _geta_for_unmappable)


@dataclass(frozen=True)
class DelimitedStyle:
    """The resolved options of one CSV or TSV file."""

    header: bool = True
    delimiter: str = ","
    quote: Quote = "minimal"
    line_ending: str = "\n"
    encoding: str = "utf-8"

    @property
    def specials(self) -> bytes:
        """Return the bytes that force a value into quotes."""
        return f'{self.delimiter}"\r\n'.encode()


def open_csv(settings: EncoderSettings) -> DelimitedEncoder:
    """Return an encoder for a CSV file with the settings' options (comma by default)."""
    return DelimitedEncoder(_style(settings, ","))


def open_tsv(settings: EncoderSettings) -> DelimitedEncoder:
    """Return an encoder for a TSV file with the settings' options (tab by default)."""
    return DelimitedEncoder(_style(settings, "\t"))


def _style(settings: EncoderSettings, default_delimiter: str) -> DelimitedStyle:
    options = settings.options
    return DelimitedStyle(
        header=True if options.header is None else options.header,
        delimiter=options.delimiter or default_delimiter,
        quote=options.quote or "minimal",
        line_ending=options.line_ending or "\n",
        encoding=options.encoding or "utf-8",
    )


class DelimitedEncoder:
    """Encodes blocks as delimited text; each block's bytes depend on that block alone."""

    def __init__(self, style: DelimitedStyle) -> None:
        self.style = style

    def encode(self, table: pa.Table, block_index: int) -> bytes:
        body = self._rows(table)
        if block_index == 0:
            body = self._header(table.schema.names) + body
        return self._in_encoding(body, first_block=block_index == 0)

    def finish(self) -> Iterator[bytes]:
        return no_footer()

    def _header(self, names: list[str]) -> bytes:
        if not self.style.header:
            return b""
        row = pa.table({str(i): pa.array([name], pa.string()) for i, name in enumerate(names)})
        return self._rows(row)

    def _rows(self, table: pa.Table) -> bytes:
        columns = [as_array(column) for column in table.columns]
        if self.style.quote == "all":
            return self._arrow_csv(table)
        safe = [self._unquoted_is_safe(c) for c in columns]
        if all(safe):
            return self._arrow_csv(table)
        return self._joined_rows(table, columns, safe)

    def _unquoted_is_safe(self, column: pa.Array) -> bool:
        """Return whether no value of ``column`` needs quotes."""
        if not pa.types.is_string(column.type):
            return self.style.delimiter not in _RENDERED_PUNCTUATION
        if contains_any(column, self.style.specials):
            return False
        if self.style.quote == "minimal" and len(column) > 0:
            shortest = pc.min(pc.binary_length(column)).as_py()
            return shortest is None or shortest > 0
        return True

    def _arrow_csv(self, table: pa.Table, eol: str | None = None) -> bytes:
        options = pa_csv.WriteOptions(
            include_header=False,
            batch_size=CSV_BATCH_ROWS,
            delimiter=self.style.delimiter,
            eol=eol or self.style.line_ending,
            quoting_style="all_valid" if self.style.quote == "all" else "none",
        )
        sink = pa.BufferOutputStream()
        pa_csv.write_csv(table, sink, options)
        return bytes(sink.getvalue())

    def _joined_rows(self, table: pa.Table, columns: list[pa.Array], safe: list[bool]) -> bytes:
        """Return the rows with only the values that need quotes quoted (the slower path).

        Runs of columns that need no quotes are still rendered by Arrow's CSV writer, each
        run as one piece per row; only the other columns are quoted here. Every piece ends
        with what follows it in the row (the delimiter, or the line ending for the last), so
        the pieces join with no separator into whole lines.
        """
        pieces: list[pa.Array] = []
        start = 0
        while start < len(columns):
            end = start + 1
            while safe[start] and end < len(columns) and safe[end]:
                end += 1
            tail = self.style.line_ending if end == len(columns) else self.style.delimiter
            if safe[start]:
                pieces.append(self._arrow_pieces(table.select(list(range(start, end))), tail))
            else:
                pieces.append(self._cells(columns[start], tail))
            start = end
        if len(pieces) == 1:
            return rows_bytes(pieces[0])
        return rows_bytes(pc.binary_join_element_wise(*pieces, ""))

    def _arrow_pieces(self, table: pa.Table, tail: str) -> pa.Array:
        """Arrow's rendering of columns that need no quotes, one string per row, each
        ending with ``tail`` (written in the place of Arrow's own line ending)."""
        tail_bytes = tail.encode()
        if len(tail_bytes) != 1:  # \r\n: let Arrow write it, then cut rows after each \n
            raw = np.frombuffer(self._arrow_csv(table, eol=tail), dtype=np.uint8)
            ends = np.flatnonzero(raw == ord("\n"))
        else:
            raw = np.frombuffer(self._arrow_csv(table, eol="\n"), dtype=np.uint8).copy()
            newline = raw == ord("\n")
            ends = np.flatnonzero(newline)
            raw[ends] = tail_bytes[0]
        offsets = np.zeros(len(ends) + 1, dtype=np.int32)
        offsets[1:] = ends + 1
        return pa.StringArray.from_buffers(
            len(ends), pa.py_buffer(offsets), pa.py_buffer(raw), null_count=0
        )

    def _cells(self, column: pa.Array, tail: str) -> pa.Array:
        """The column's values as CSV cells, each followed by ``tail`` (delimiter or eol)."""
        text = plain_text(column)
        if not pa.types.is_string(column.type) and (
            self.style.delimiter not in _RENDERED_PUNCTUATION
        ):
            # A number or date never renders a special character.
            return pc.binary_join_element_wise(text.fill_null(""), tail, "")
        # Test each special character only if the block holds it at all (a scan of the data
        # buffer), and quote only the values that need it: most columns need nothing.
        needs_quotes = None
        raw = string_data(text)  # one copy of the text, searched for each special byte
        for special in self.style.specials.decode():
            if special.encode() in raw:
                hit = pc.match_substring(text, special)
                needs_quotes = hit if needs_quotes is None else pc.or_(needs_quotes, hit)
        if (
            self.style.quote == "minimal"
            and len(text)
            and pc.min(pc.binary_length(text)).as_py() == 0
        ):
            empty = pc.equal(pc.binary_length(text), 0)
            needs_quotes = empty if needs_quotes is None else pc.or_(needs_quotes, empty)
        if needs_quotes is None:
            return pc.binary_join_element_wise(text.fill_null(""), tail, "")
        needs_quotes = needs_quotes.fill_null(False)
        escaped = pc.replace_substring(text, '"', '""') if b'"' in raw else text
        if text.null_count == 0 and pc.all(needs_quotes).as_py():
            # Every value needs quotes (an address column, say): one pass writes them all.
            return pc.binary_join_element_wise('"', escaped, '"' + tail, "")
        chosen = escaped.filter(needs_quotes)
        quoted = pc.binary_join_element_wise('"', chosen, '"', "")
        cells = pc.replace_with_mask(text, needs_quotes, quoted).fill_null("")
        return pc.binary_join_element_wise(cells, tail, "")

    def _in_encoding(self, utf8: bytes, first_block: bool) -> bytes:
        encoding = self.style.encoding
        if encoding == "cp932":
            text = utf8.decode("utf-8")
            if any(char in text for char in _CP932_FIXABLE):
                text = text.translate(_TO_CP932_FORMS)
            return text.encode("cp932", errors=_CP932_ERRORS)
        if encoding == "utf-8-bom" and first_block:
            return UTF8_BOM + utf8
        return utf8
