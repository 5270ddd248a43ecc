"""Every output format read back by a real reader, as a user opening the file would."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import decimal
import gzip
import io
import json
import shutil
import subprocess
import uuid
import zipfile
from collections.abc import Iterator
from typing import Any

import asyncpg
import openpyxl  # type: ignore[import-untyped]
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest

from generators.engine import BLOCK_ROWS, generate_block
from generators.errors import SpecError
from generators.output import file_type, is_concatenable, iter_encoded, write_dataset
from generators.spec import DatasetSpec, parse_spec
from generators.writers import FORMATS, EncoderSettings, FormatOptions, open_encoder
from generators.writers.xlsx import XlsxEncoder
from tests.services import POSTGRES_ADMIN_URL, unavailable

TOKYO = dt.timezone(dt.timedelta(hours=9))
TRICKY_STRINGS = [
    "plain",
    "comma, inside",
    'quote " inside',
    "line\nbreak",
    "",
    None,
    "back\\slash",
    "it's",
    "𩸽 ホッケ",
    "tab\tinside",
    "=1+2",
    "ctrl\x01char",
]
ROWS = len(TRICKY_STRINGS)
FIELDS: list[dict[str, Any]] = [
    {"name": "id", "type": "sequence"},
    {"name": "name", "type": "full_name"},
    {"name": "age", "type": "integer", "min": 18, "max": 90},
    {"name": "joined", "type": "date"},
    {"name": "active", "type": "boolean"},
    {"name": "balance", "type": "decimal"},
]


def tricky_table() -> pa.Table:
    """Return a block whose values try every quoting and typing hazard."""
    return pa.table(
        {
            "s": pa.array(TRICKY_STRINGS, pa.string()),
            "i": pa.array([1, -2, 2**62, None, *range(4, ROWS)], pa.int64()),
            "f": pa.array([0.1, -2.5, None, *[1.0] * (ROWS - 3)], pa.float64()),
            "b": pa.array([True, False, None, *[True] * (ROWS - 3)], pa.bool_()),
            "d": pa.array([dt.date(2024, 2, 29), None, *[dt.date(1999, 12, 31)] * (ROWS - 2)]),
            "ts": pa.array(
                [dt.datetime(2024, 1, 1, 9, 30, tzinfo=TOKYO), None]
                + [dt.datetime(2000, 1, 1, tzinfo=dt.UTC)] * (ROWS - 2),
                pa.timestamp("us", tz="Asia/Tokyo"),
            ),
            "dec": pa.array(
                [decimal.Decimal("12.50"), None, *[decimal.Decimal("-0.01")] * (ROWS - 2)],
                pa.decimal128(12, 2),
            ),
        }
    )


def encode(
    fmt: str,
    block: pa.Table | None = None,
    compression: str = "none",
    name: str = "users",
    **options: Any,
) -> bytes:
    """Return a one-block file of ``block`` (the tricky table by default)."""
    settings = EncoderSettings(FormatOptions(**options), name, 1)
    encoder = open_encoder(fmt, settings, compression)  # type: ignore[arg-type]
    body = encoder.encode(tricky_table() if block is None else block, 0)
    return body + b"".join(encoder.finish())


def make_spec(**overrides: Any) -> DatasetSpec:
    body: dict[str, Any] = {
        "name": "users",
        "rows": 300,
        "format": "csv",
        "locale": "ja_JP",
        "seed": 7,
        "fields": FIELDS,
    }
    return parse_spec(body | overrides)


def render(spec: DatasetSpec) -> bytes:
    sink = io.BytesIO()
    write_dataset(spec, sink)
    return sink.getvalue()


# --- CSV and TSV ----------------------------------------------------------------------


@pytest.mark.parametrize("header", [True, False])
@pytest.mark.parametrize("quote", ["minimal", "all", "none"])
@pytest.mark.parametrize("line_ending", ["\n", "\r\n"])
@pytest.mark.parametrize("delimiter", [",", ";", "|"])
def test_csv_reads_back_with_every_option(
    header: bool, quote: str, line_ending: str, delimiter: str
) -> None:
    data = encode(
        "csv", header=header, quote=quote, line_ending=line_ending, delimiter=delimiter
    ).decode()
    rows = list(csv.reader(io.StringIO(data, newline=""), delimiter=delimiter))
    if header:
        assert rows.pop(0) == ["s", "i", "f", "b", "d", "ts", "dec"]
    assert [row[0] for row in rows] == [s or "" for s in TRICKY_STRINGS]
    assert [row[1] for row in rows][:3] == ["1", "-2", str(2**62)]
    assert rows[0][2:5] == ["0.1", "true", "2024-02-29"]
    assert rows[0][6] == "12.50"
    # Every record ends with the chosen line ending, and no other ending appears outside quotes.
    assert data.endswith(line_ending)
    assert data.count(line_ending) == ROWS + header + (1 if line_ending == "\n" else 0)


def test_csv_quote_styles_quote_what_they_say() -> None:
    # Lines, not records: row 3 holds a line break, so row r > 3 is on line r + 1.
    minimal = encode("csv", header=False, quote="minimal").decode().splitlines()
    assert minimal[0].startswith("plain,1,")
    assert minimal[1].startswith('"comma, inside",')
    assert minimal[3] == '"line'
    assert minimal[5].startswith('"",')  # an empty string stays apart from null
    assert minimal[6].startswith(",5,")  # null
    everything = encode("csv", header=True, quote="all").decode().splitlines()
    assert everything[0] == '"s","i","f","b","d","ts","dec"'
    assert everything[1].startswith('"plain","1","0.1","true","2024-02-29",')
    assert everything[7].startswith(',"5",')  # a null stays unquoted
    none = encode("csv", header=False, quote="none").decode().splitlines()
    assert none[0].startswith("plain,1,")
    assert none[5].startswith(",4,")  # empty string, no quotes
    assert none[1].startswith('"comma, inside",')  # still quoted: it would break the row


def test_quote_none_writes_no_quote_at_all_when_no_value_needs_one() -> None:
    table = pa.table({"a": ["x", "y z", ""], "n": [1, 2, None]})
    assert encode("csv", table, quote="none") == b"a,n\nx,1\ny z,2\n,\n"


def test_tsv_uses_tabs_and_reads_back() -> None:
    data = encode("tsv").decode()
    assert data.splitlines()[0] == "s\ti\tf\tb\td\tts\tdec"
    rows = list(csv.reader(io.StringIO(data, newline=""), delimiter="\t"))
    assert [row[0] for row in rows[1:]] == [s or "" for s in TRICKY_STRINGS]
    assert rows[10][0] == "tab\tinside"


def test_cp932_opens_as_shift_jis_and_replaces_what_it_cannot_hold() -> None:
    table = pa.table({"名前": ["山田 太郎", "𩸽を食べる", "ｶﾀｶﾅ", "1〜2", "−5"]})
    data = encode("csv", table, encoding="cp932")
    text = data.decode("cp932")  # strict: every byte is valid CP932
    assert text.splitlines() == ["名前", "山田 太郎", "〓を食べる", "ｶﾀｶﾅ", "1～2", "－5"]


def test_cp932_file_type_names_its_charset() -> None:
    spec = make_spec(format_options={"encoding": "cp932"})
    assert file_type(spec).content_type == "text/csv; charset=Windows-31J"
    assert render(spec).decode("cp932").startswith("id,name,age")


def test_utf8_bom_starts_the_file_once() -> None:
    spec = make_spec(rows=BLOCK_ROWS + 5, format_options={"encoding": "utf-8-bom"})
    data = render(spec)
    assert data.startswith(b"\xef\xbb\xbfid,name,")
    assert data.count(b"\xef\xbb\xbf") == 1
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert len(rows) == BLOCK_ROWS + 5
    assert rows[0]["id"] == "1"


# --- JSON and JSON Lines ----------------------------------------------------------------

EXPECTED_FIRST_OBJECT = {
    "s": "plain",
    "i": 1,
    "f": 0.1,
    "b": True,
    "d": "2024-02-29",
    "ts": "2024-01-01T09:30:00.000000+09:00",
    "dec": 12.5,
}


def test_json_array_loads_with_every_string_intact() -> None:
    rows = json.loads(encode("json"))
    assert [row["s"] for row in rows] == TRICKY_STRINGS
    assert rows[0] == EXPECTED_FIRST_OBJECT
    assert rows[3]["i"] is None and rows[2]["f"] is None
    assert rows[2]["i"] == 2**62
    assert dt.datetime.fromisoformat(rows[0]["ts"]) == dt.datetime(2024, 1, 1, 0, 30, tzinfo=dt.UTC)


def test_json_lines_gives_one_object_per_line() -> None:
    lines = encode("jsonl").decode().split("\n")
    assert lines[-1] == ""
    rows = [json.loads(line) for line in lines[:-1]]
    assert rows == json.loads(encode("json"))


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_of_several_blocks_reads_back_whole(fmt: str) -> None:
    spec = make_spec(format=fmt, rows=BLOCK_ROWS + 3)
    data = render(spec).decode()
    rows = json.loads(data) if fmt == "json" else [json.loads(x) for x in data.splitlines()]
    assert [row["id"] for row in rows] == list(range(1, BLOCK_ROWS + 4))
    assert rows[5]["name"] == generate_block(spec, 0).column("name")[5].as_py()


# --- Parquet ------------------------------------------------------------------------------


def test_parquet_keeps_types_with_a_row_group_per_block_and_no_statistics() -> None:
    spec = make_spec(format="parquet", rows=BLOCK_ROWS + 10)
    data = render(spec)
    parquet = pq.ParquetFile(io.BytesIO(data))
    assert parquet.metadata.num_row_groups == 2
    assert parquet.metadata.row_group(1).num_rows == 10
    table = parquet.read()
    schema = table.schema
    assert schema.field("id").type == pa.int64()
    assert schema.field("joined").type == pa.date32()
    assert schema.field("active").type == pa.bool_()
    assert schema.field("name").type == pa.string()
    assert table.slice(0, BLOCK_ROWS).equals(generate_block(spec, 0))
    columns = {
        parquet.metadata.schema.column(i).name: parquet.metadata.row_group(0).column(i)
        for i in range(parquet.metadata.num_columns)
    }
    assert not columns["id"].is_stats_set
    assert "RLE_DICTIONARY" in columns["age"].encodings  # 73 distinct values
    assert "RLE_DICTIONARY" not in columns["id"].encodings  # all distinct


def test_parquet_of_the_tricky_block_round_trips_exactly() -> None:
    assert pq.read_table(io.BytesIO(encode("parquet"))).equals(tricky_table())


# --- SQL -----------------------------------------------------------------------------------


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    name = f"tdbuddy_writers_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        unavailable(f"PostgreSQL at {POSTGRES_ADMIN_URL} ({exc})")
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    asyncio.run(admin(f'DROP DATABASE "{name}" WITH (FORCE)'))


def load_into_postgres(url: str, script: bytes, query: str) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(url, timeout=5)
        try:
            await conn.execute(script.decode())
            rows: list[asyncpg.Record] = await conn.fetch(query)
            return rows
        finally:
            await conn.close()

    return asyncio.run(run())


def test_postgresql_script_loads_every_value_intact(postgres_database: str) -> None:
    script = encode("sql", name="Tricky Table", batch_size=5)
    rows = load_into_postgres(postgres_database, script, "SELECT * FROM tricky_table ORDER BY i")
    expected = tricky_table().sort_by([("i", "ascending")]).to_pylist()
    assert [dict(row) for row in rows] == expected


def test_postgresql_script_of_a_generated_dataset_loads_all_rows(postgres_database: str) -> None:
    spec = make_spec(format="sql", rows=BLOCK_ROWS + 7, name="ユーザー 一覧")
    rows = load_into_postgres(
        postgres_database,
        render(spec),
        'SELECT count(*) AS n, max(id) AS top, min(name) AS name FROM "ユーザー_一覧"',
    )
    assert rows[0]["n"] == BLOCK_ROWS + 7
    assert rows[0]["top"] == BLOCK_ROWS + 7


def test_sql_batches_inserts_and_starts_with_create_table() -> None:
    script = encode("sql", batch_size=5).decode()
    assert script.index("CREATE TABLE") < script.index("INSERT INTO")
    assert script.count('INSERT INTO "users"') == 3  # 12 rows in batches of 5
    assert script.rstrip().endswith("COMMIT;")


def test_mysql_script_quotes_for_mysql() -> None:
    script = encode("sql", dialect="mysql").decode()
    assert script.startswith("SET NAMES utf8mb4;\n")
    assert "CREATE TABLE `users` (\n  `s` TEXT," in script
    assert "DEFAULT CHARSET=utf8mb4;" in script
    assert "'back\\\\slash'" in script and "'it''s'" in script
    assert "'2024-01-01 00:30:00.000000'" in script  # 09:30 in Tokyo, in UTC


def test_mysql_script_loads_into_mariadb() -> None:
    if shutil.which("mysql") is None:
        unavailable("the mysql command line client")
    table = f"tdbuddy_writers_{uuid.uuid4().hex[:10]}"
    script = encode("sql", dialect="mysql", table=table, batch_size=4)
    command = ["mysql", "-h", "127.0.0.1", "-u", "root", "--batch", "--raw", "test"]
    try:
        loaded = subprocess.run(command, input=script, capture_output=True, timeout=30)
    except subprocess.TimeoutExpired:
        unavailable("MariaDB at 127.0.0.1:3306")
    if loaded.returncode != 0 and b"Can't connect" in loaded.stderr:
        unavailable("MariaDB at 127.0.0.1:3306")
    try:
        assert loaded.returncode == 0, loaded.stderr.decode()
        query = f"SELECT s, i, d, b FROM `{table}` ORDER BY i IS NULL, i"
        out = subprocess.run(
            [*command, "--default-character-set=utf8mb4", "-N", "-e", query],
            capture_output=True,
            check=True,
        ).stdout.decode()
        strings = [line.split("\t")[0] for line in out.split("\n")[:-1]]
        # --raw prints values as stored, so only line breaks and tabs need care here.
        assert "back\\slash" in strings and "it's" in strings and "𩸽 ホッケ" in strings
        assert len(out.split("\n")) - 1 >= ROWS - 2  # two values hold a line break
    finally:
        subprocess.run([*command, "-e", f"DROP TABLE IF EXISTS `{table}`"], check=False)


# --- XLSX ----------------------------------------------------------------------------------


def test_xlsx_reads_back_in_openpyxl_with_types() -> None:
    book = openpyxl.load_workbook(io.BytesIO(encode("xlsx", name="会員 [2024]")), read_only=True)
    assert book.sheetnames == ["会員 _2024_"]
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0] == ("s", "i", "f", "b", "d", "ts", "dec")
    assert rows[1][:5] == ("plain", 1, 0.1, True, dt.datetime(2024, 2, 29))
    assert rows[1][5] == dt.datetime(2024, 1, 1, 9, 30)  # the zone's wall time
    assert rows[1][6] == 12.5
    # XML cannot hold U+0001: the file escapes it as _x0001_, which Excel shows decoded.
    assert [row[0] for row in rows[1:]] == [*TRICKY_STRINGS[:-1], "ctrl_x0001_char"]
    assert rows[11][0] == "=1+2"  # text, not a formula


def test_xlsx_spills_into_further_sheets_at_the_row_limit() -> None:
    settings = EncoderSettings(FormatOptions(sheet="data"), "users", 1)
    encoder = XlsxEncoder(settings, max_sheet_rows=5)  # a header and 4 rows a sheet
    data = encoder.encode(tricky_table(), 0) + b"".join(encoder.finish())
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    assert book.sheetnames == ["data", "data (2)", "data (3)"]
    ids = []
    for sheet in book.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][0] == "s"
        ids += [row[1] for row in rows[1:]]
    assert ids == tricky_table().column("i").to_pylist()


def test_xlsx_has_fixed_timestamps() -> None:
    archive = zipfile.ZipFile(io.BytesIO(encode("xlsx")))
    assert {info.date_time[0] for info in archive.infolist()} == {1980}
    assert b"2000-01-01T00:00:00Z" in archive.read("docProps/core.xml")


# --- gzip, determinism, sharding, the spec ------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_gzip_decompresses_to_the_uncompressed_file(fmt: str) -> None:
    plain = render(make_spec(format=fmt))
    packed = render(make_spec(format=fmt, compression="gzip"))
    assert packed[:2] == b"\x1f\x8b" and packed[4:8] == b"\0\0\0\0"  # no mtime
    assert gzip.decompress(packed) == plain
    assert file_type(make_spec(format=fmt, compression="gzip")).file_extension == f"{fmt}.gz"


@pytest.mark.parametrize("compression", ["none", "gzip"])
@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_same_spec_gives_byte_identical_files(fmt: str, compression: str) -> None:
    assert render(make_spec(format=fmt, compression=compression)) == render(
        make_spec(format=fmt, compression=compression)
    )


@pytest.mark.parametrize(
    ("fmt", "compression"),
    # gzip members concatenate the same way whatever the format inside them.
    [
        ("csv", "none"),
        ("tsv", "none"),
        ("json", "none"),
        ("jsonl", "none"),
        ("sql", "none"),
        ("json", "gzip"),
    ],
)
def test_shards_encoded_apart_concatenate_to_the_whole_file(fmt: str, compression: str) -> None:
    spec = make_spec(format=fmt, compression=compression, rows=2 * BLOCK_ROWS + 1)
    assert is_concatenable(spec)
    shards = [iter_encoded(spec, 0, 1), iter_encoded(spec, 1, 2), iter_encoded(spec, 2)]
    assert b"".join(data for shard in shards for _, data in shard) == render(spec)


@pytest.mark.parametrize("fmt", ["parquet", "xlsx"])
def test_stateful_formats_refuse_to_start_mid_file(fmt: str) -> None:
    spec = make_spec(format=fmt, rows=BLOCK_ROWS + 1)
    assert not is_concatenable(spec)
    with pytest.raises(ValueError, match="cannot be encoded in shards"):
        next(iter_encoded(spec, 1))


@pytest.mark.parametrize(
    ("overrides", "path", "detail"),
    [
        ({"format_options": {"delimiter": ";;"}}, "format_options.delimiter", "exactly one"),
        ({"format_options": {"delimiter": '"'}}, "format_options.delimiter", "not a quote"),
        ({"format_options": {"dialect": "mysql"}}, "format_options.dialect", "does not apply"),
        ({"format_options": {"delimter": ";"}}, "format_options.delimter", "'delimiter'"),
        ({"format_options": {"quote": "some"}}, "format_options.quote", "'some'"),
        ({"compression": "zip"}, "compression", "'zip'"),
        ({"format": "sql", "format_options": {"batch_size": 0}}, "format_options.batch_size", ""),
        ({"format": "xlsx", "format_options": {"sheet": "a/b"}}, "format_options.sheet", "/"),
    ],
)
def test_bad_format_options_are_refused_by_path(
    overrides: dict[str, Any], path: str, detail: str
) -> None:
    with pytest.raises(SpecError) as caught:
        make_spec(**overrides)
    assert caught.value.field == path
    assert detail in caught.value.detail
