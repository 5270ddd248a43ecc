"""The engine's own commands: ``tdbuddy generate`` writes a file, ``tdbuddy preview`` shows rows.

Both run the engine in this process with no service at all. A spec a user can fix ends the
command with exit code 2 and ``FILE: field: detail`` on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

import msgspec
import pyarrow as pa  # type: ignore[import-untyped]

from generators.catalog import FIELD_TYPES
from generators.dataset import edge_case_cells, total_rows
from generators.engine import generate_block
from generators.errors import SpecError
from generators.output import write_dataset
from generators.spec import DatasetSpec, parse_spec, with_seed
from generators.tables import render_table

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

PREVIEW_MAX_ROWS = 1_000
PROGRESS_INTERVAL_SECONDS = 0.1


# --- generate --------------------------------------------------------------------------------


def _seeded_spec(path: str, **overrides: Any) -> DatasetSpec | int:
    """The spec in ``path`` with the overrides and a seed (chosen when it has none), or the
    exit code after telling the user why it cannot be read."""
    try:
        spec = load_spec(path, **overrides)
    except SpecError as exc:
        return _refuse(path, exc)
    except OSError as exc:
        return _fail(f"cannot read {path}: {exc.strerror or exc}", EXIT_BAD_INPUT)
    return spec if spec.seed is not None else with_seed(spec, secrets.randbits(63))


def run_generate(args: argparse.Namespace) -> int:
    """Write the dataset of ``args.spec`` to ``args.output``; return the exit code.

    The file appears under its name only once complete (written beside it, then renamed),
    so an interrupted run leaves nothing half-written. ``-o -`` streams to stdout.
    """
    spec = _seeded_spec(args.spec, rows=args.rows, format=args.format, seed=args.seed)
    if isinstance(spec, int):
        return spec
    seed = spec.seed
    rows = total_rows(spec)
    progress = Progress(rows, sys.stderr)
    started = time.perf_counter()
    try:
        if args.output == "-":
            sink = CountingSink(sys.stdout.buffer)
            write_dataset(spec, sink.as_binary_io(), progress.update)
            sys.stdout.buffer.flush()
        else:
            sink = _write_file(spec, Path(args.output), progress)
    except KeyboardInterrupt:
        progress.clear()
        return _fail("interrupted; no file written", EXIT_INTERRUPTED)
    except OSError as exc:
        progress.clear()
        return _fail(f"cannot write {args.output}: {exc.strerror or exc}", EXIT_FAILED)
    seconds = time.perf_counter() - started
    progress.clear()
    target = "stdout" if args.output == "-" else args.output
    print(
        f"wrote {rows:,} rows ({_megabytes(sink.written)}) to {target} in {seconds:.1f} s"
        f" ({rows / max(seconds, 1e-9):,.0f} rows/s), seed {seed}",
        file=sys.stderr,
    )
    if args.edge_cases:
        count = write_edge_case_manifest(spec, Path(args.edge_cases))
        print(f"listed {count:,} injected edge cases in {args.edge_cases}", file=sys.stderr)
    return EXIT_OK


def write_edge_case_manifest(spec: DatasetSpec, path: Path) -> int:
    """Writes every injected cell as a JSON line (table, field, row, kind); returns how many."""
    encoder = msgspec.json.Encoder()
    count = 0
    with path.open("wb") as sink:
        for cell in edge_case_cells(spec):
            sink.write(encoder.encode(cell) + b"\n")
            count += 1
    return count


def _write_file(spec: DatasetSpec, path: Path, progress: Progress) -> CountingSink:
    """Write the dataset to a temporary file beside ``path`` and rename it into place."""
    folder = path.parent if str(path.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(handle, "wb", buffering=1024 * 1024) as file:
            sink = CountingSink(file)
            write_dataset(spec, sink.as_binary_io(), progress.update)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return sink


class CountingSink:
    """A binary sink that passes bytes on and counts them (for MB and MB/s)."""

    def __init__(self, target: BinaryIO | IO[bytes]) -> None:
        self._target = target
        self.written = 0

    def write(self, data: bytes) -> int:
        self._target.write(data)
        self.written += len(data)
        return len(data)

    def as_binary_io(self) -> BinaryIO:
        """Return this sink typed as the file ``write_dataset`` takes (it only calls write)."""
        return cast(BinaryIO, self)


class Progress:
    """A one-line progress bar (percent, rows, rows/s, ETA) redrawn in place on a terminal.

    When the stream is not a terminal (a log, a pipe, CI) it draws nothing: the caller's
    final summary line is all that is written there.
    """

    def __init__(self, total_rows: int, stream: IO[str]) -> None:
        self.total = total_rows
        self.stream = stream
        self.enabled = stream.isatty()
        self.started = time.perf_counter()
        self._last_draw = 0.0
        self._drawn = False

    def update(self, rows_done: int) -> None:
        """Record that ``rows_done`` rows are written; redraw at most 10 times a second."""
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._last_draw < PROGRESS_INTERVAL_SECONDS and rows_done < self.total:
            return
        self._last_draw = now
        width = shutil.get_terminal_size((80, 24)).columns - 1
        line = progress_line(rows_done, self.total, now - self.started, width)
        self.stream.write("\r" + line.ljust(width))
        self.stream.flush()
        self._drawn = True

    def clear(self) -> None:
        """Erase the bar so the summary line takes its place."""
        if self._drawn:
            width = shutil.get_terminal_size((80, 24)).columns - 1
            self.stream.write("\r" + " " * width + "\r")
            self.stream.flush()
            self._drawn = False


def progress_line(done: int, total: int, seconds: float, width: int = 79) -> str:
    """Return a bar line like ``[#####-----]  50%  500,000/1,000,000 rows  1.2M rows/s  ETA 0:01``.

    ASCII only: block characters are ambiguous-width and take two columns in many
    Japanese terminals, which would wrap the line and break the in-place redraw.
    """
    fraction = done / total if total else 1.0
    rate = done / seconds if seconds > 0 else 0.0
    eta = _duration((total - done) / rate) if rate > 0 else "--:--"
    text = f" {fraction:4.0%}  {done:,}/{total:,} rows  {_rate(rate)} rows/s  ETA {eta}"
    # Sized for the longest text this run can show, so the bar does not jitter.
    longest = len(f" 100%  {total:,}/{total:,} rows  999.9M rows/s  ETA 00:00:00")
    bar_width = max(10, min(40, width - longest - 2))
    filled = int(bar_width * fraction)
    return f"[{'#' * filled}{'-' * (bar_width - filled)}]{text}"


def _rate(rows_per_second: float) -> str:
    if rows_per_second >= 1e6:
        return f"{rows_per_second / 1e6:.1f}M"
    if rows_per_second >= 1e3:
        return f"{rows_per_second / 1e3:.0f}k"
    return f"{rows_per_second:.0f}"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _megabytes(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


# --- preview ---------------------------------------------------------------------------------


def run_preview(args: argparse.Namespace) -> int:
    """Print the spec's first ``args.rows`` rows as an aligned table; return the exit code.

    With the same seed these are the first rows ``generate`` writes.
    """
    if not 1 <= args.rows <= PREVIEW_MAX_ROWS:
        return _fail(f"--rows must be between 1 and {PREVIEW_MAX_ROWS}", EXIT_BAD_INPUT)
    spec = _seeded_spec(args.spec, seed=args.seed)
    if isinstance(spec, int):
        return spec
    # The whole first block, then its head: a block's draws depend on its size, so only
    # this way are the rows shown the rows a file of this spec starts with.
    table = generate_block(spec, 0).slice(0, args.rows)
    columns = {name: table.column(name).to_pylist() for name in table.column_names}
    right = {f.name: _is_numeric(f.type) for f in table.schema}
    for line in render_table(columns, right_aligned=right):
        print(line)
    print(f"({table.num_rows} rows, locale {spec.locale}, seed {spec.seed})")
    return EXIT_OK


def _is_numeric(arrow_type: pa.DataType) -> bool:
    return bool(
        pa.types.is_integer(arrow_type)
        or pa.types.is_floating(arrow_type)
        or pa.types.is_decimal(arrow_type)
    )


# --- examples for the catalog's documentation ------------------------------------------------

EXAMPLE_LOCALES = ("ja_JP", "en_US")
# A few rows, so a type that is often null (a building line: null for a house) still shows
# a value: the first non-null one.
EXAMPLE_ROWS = 16


def catalog_examples(
    locales: Sequence[str] = EXAMPLE_LOCALES, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Return ``{type name: {locale: value}}``: one value each type's defaults give, as JSON.

    Made by the engine itself (a small spec per type and locale, seed 0), so documentation
    shows what generation does. A type that cannot work with default options alone (it needs a
    pattern, values or another field) is left out of the answer.
    """
    examples: dict[str, dict[str, Any]] = {}
    for type_name in FIELD_TYPES:
        for locale in locales:
            spec = {
                "name": "example",
                "rows": EXAMPLE_ROWS,
                "format": "csv",
                "locale": locale,
                "seed": seed,
                "fields": [{"name": "value", "type": type_name}],
            }
            try:
                column = generate_block(parse_spec(spec), 0).column(0).drop_null()
            except SpecError:
                continue
            except Exception:  # one broken type must not take every other example with it
                log.exception("no example for field type %s in %s", type_name, locale)
                continue
            if len(column):
                value = column[0].as_py()
                examples.setdefault(type_name, {})[locale] = msgspec.to_builtins(value)
    return examples


# --- shared ----------------------------------------------------------------------------------


def load_spec(
    path: str, rows: int | None = None, format: str | None = None, seed: int | None = None
) -> DatasetSpec:
    """Return the validated spec in the JSON file at ``path`` with the given values overriding it.

    Raises SpecError (naming the field) for a spec a user can fix, OSError if unreadable.
    """
    raw = Path(path).read_bytes()
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise SpecError("body", f"malformed JSON: {exc}", code="malformed_json") from None
    if isinstance(data, dict):
        overrides = {"rows": rows, "format": format, "seed": seed}
        data.update({key: value for key, value in overrides.items() if value is not None})
    return parse_spec(data)


def _refuse(path: str, error: SpecError) -> int:
    return _fail(f"{path}: {error.field}: {error.detail}", EXIT_BAD_INPUT)


def _fail(message: str, code: int) -> int:
    print(f"tdbuddy: {message}", file=sys.stderr)
    return code
