"""The dataset spec as submitted over the wire, and ``parse_spec`` that validates it.

Every rejection is a ``SpecError`` naming the exact path (``fields[3].min``) and a
reason the user can act on.
"""

import difflib
import re
from typing import TYPE_CHECKING, Annotated, Any, Union

import msgspec

from generators.catalog import FIELD_TYPES, field_type_names
from generators.errors import SpecError
from generators.fieldtype import FieldOptions, LocaleCode
from generators.locales import SUPPORTED_LOCALES
from generators.types.template import TemplateField
from generators.writers import WRITERS, Compression, FormatOptions, option_problems

MAX_ROWS = 1_000_000_000
MAX_FIELDS = 200
MAX_SEED = 2**63 - 1

if TYPE_CHECKING:
    AnyField = FieldOptions
else:
    # The tagged union of every catalog type, so the catalog stays the only list of types.
    AnyField = Union[tuple(entry.options for entry in FIELD_TYPES.values())]  # noqa: UP007


MAX_TABLES = 20
MAX_NAME_LENGTH = 64  # of a format; no longer name is close to one of ours
# Longest user text an error message repeats; past it, a name is cut and marked with "…".
MAX_ECHOED = 80
TableName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
]


class TableSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """A further table of a dataset: its name, row count and fields."""

    name: TableName
    rows: Annotated[int, msgspec.Meta(ge=1, le=MAX_ROWS)]
    fields: Annotated[list[AnyField], msgspec.Meta(min_length=1, max_length=MAX_FIELDS)]


class DatasetSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """A dataset a user asked for: row count, format, locale, seed and ordered fields.

    The dataset is a table of its own (``name``, ``rows``, ``fields``); ``tables`` adds
    further tables, whose ``reference`` fields point at keys of the others. A dataset of
    several tables is delivered as one zip archive with a file per table.
    """

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    rows: Annotated[int, msgspec.Meta(ge=1, le=MAX_ROWS)]
    format: Annotated[str, msgspec.Meta(max_length=MAX_NAME_LENGTH)]
    locale: LocaleCode = "en_US"
    seed: Annotated[int, msgspec.Meta(ge=0, le=MAX_SEED)] | None = None
    fields: Annotated[list[AnyField], msgspec.Meta(min_length=1, max_length=MAX_FIELDS)]
    # Share of cells of every field replaced by edge cases; a field's own rate wins.
    edge_case_rate: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 0.0
    # Options of the output format (csv: delimiter…, sql: dialect…) and its compression.
    format_options: FormatOptions = msgspec.field(default_factory=FormatOptions)
    compression: Compression = "none"
    tables: Annotated[list[TableSpec], msgspec.Meta(max_length=MAX_TABLES - 1)] = []


_MSGSPEC_PATH = re.compile(r"^(?P<detail>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_MISSING = re.compile(r"^Object missing required field `(?P<name>[^`]+)`$")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<name>[^`]+)`$")
_BAD_TAG = re.compile(r"^Invalid value '(?P<value>.*)'$", re.DOTALL)
# The value msgspec repeats, as in "Invalid enum value 'x'".
_QUOTED = re.compile(r"'(.*)'", re.DOTALL)


def parse_spec(data: bytes | str | dict[str, Any]) -> DatasetSpec:
    """Return the validated spec for a JSON body (bytes/str) or a decoded dict.

    Raises ``SpecError`` for the first problem found.
    """
    may_hold_nul = True
    if isinstance(data, (bytes, str)):
        # JSON can only spell a NUL as the escape \u0000 (a raw one is malformed), so a body
        # without it needs no walk for one: that walk was most of a small spec's validation.
        raw = data.encode() if isinstance(data, str) else data
        may_hold_nul = b"\\u0000" in raw
        data = decode_body(raw)
    if may_hold_nul:
        _reject_nul(data, "")
    try:
        spec = msgspec.convert(data, DatasetSpec)
    except msgspec.ValidationError as exc:
        raise _translate(str(exc), data) from None
    _check(spec)
    return spec


def decode_body(body: bytes) -> dict[str, Any]:
    """The JSON object of a request body; SpecError for malformed JSON or another value."""
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise SpecError("body", f"malformed JSON: {exc}", code="malformed_json") from None
    except UnicodeDecodeError:
        raise SpecError("body", "the body is not valid UTF-8", code="malformed_json") from None
    except RecursionError:
        raise SpecError(
            "body", "the JSON is nested too deeply for a spec", code="malformed_json"
        ) from None
    if not isinstance(data, dict):
        raise SpecError("body", "the spec must be a JSON object")
    return data


def spec_to_dict(spec: DatasetSpec) -> dict[str, Any]:
    """Return the spec as plain JSON-ready builtins (dates as ISO strings)."""
    result: dict[str, Any] = msgspec.to_builtins(spec)
    return result


def with_seed(spec: DatasetSpec, seed: int) -> DatasetSpec:
    """Return a copy of ``spec`` with ``seed`` set (so the job can be reproduced)."""
    if not 0 <= seed <= MAX_SEED:
        raise SpecError("seed", f"seed must be between 0 and {MAX_SEED}")
    return msgspec.structs.replace(spec, seed=seed)


def _translate(message: str, data: dict[str, Any]) -> SpecError:
    """Return a SpecError for a msgspec validation message like ``... - at `$.rows```."""
    match = _MSGSPEC_PATH.match(message)
    detail = match["detail"] if match else message
    path = (match["path"] or "").lstrip(".") if match else ""

    if missing := _MISSING.match(detail):
        return SpecError(_join(path, missing["name"]), "this value is required")
    if unknown := _UNKNOWN.match(detail):
        return _unknown_option(path, unknown["name"], _lookup(data, path))
    if (bad_tag := _BAD_TAG.match(detail)) and path.endswith(".type"):
        return _unknown_type(path, bad_tag["value"])
    if path.endswith(".type"):
        return _unknown_type(path, repr(_lookup(data, path)))
    if detail.startswith("Invalid RFC3339 encoded date"):
        detail = "expected a date as YYYY-MM-DD"
    detail = _QUOTED.sub(lambda quoted: f"'{_shown(quoted[1])}'", detail.replace("`", ""))
    return SpecError(path or "body", detail[:1].lower() + detail[1:])


def _reject_nul(value: Any, path: str) -> None:
    """Raise SpecError at the first string (key or value) holding a NUL character.

    No text column of PostgreSQL, and few tools a file goes to, can hold one.
    """
    if isinstance(value, str):
        if "\x00" in value:
            raise SpecError(path or "body", "text may not contain the NUL character (\\u0000)")
    elif isinstance(value, dict):
        for key, item in value.items():
            _reject_nul(key, path or "body")
            _reject_nul(item, _join(path, _shown(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _reject_nul(item, f"{path}[{index}]")


def _unknown_option(path: str, name: str, owner: Any) -> SpecError:
    known: tuple[str, ...] = DatasetSpec.__struct_fields__
    detail = f"unknown key '{_shown(name)}'"
    type_name = owner.get("type") if path and isinstance(owner, dict) else None
    if isinstance(type_name, str) and type_name in FIELD_TYPES:
        known = FIELD_TYPES[type_name].options.__struct_fields__
        detail = f"unknown option '{_shown(name)}' for type '{type_name}'"
    if path == "format_options":
        known = FormatOptions.__struct_fields__
        detail = f"unknown format option '{_shown(name)}'"
    close = difflib.get_close_matches(name[:MAX_NAME_LENGTH], known, n=1)
    detail += f"; did you mean '{close[0]}'?" if close else f"; allowed: {', '.join(known)}"
    return SpecError(_join(path, _shown(name)), detail, code="unknown_option")


def _shown(text: str) -> str:
    """User text as an error message repeats it: whole, or cut to MAX_ECHOED characters."""
    return text if len(text) <= MAX_ECHOED else text[: MAX_ECHOED - 1] + "…"


def _unknown_type(path: str, value: str) -> SpecError:
    detail = f"unknown type '{_shown(value)}'"
    close = difflib.get_close_matches(value[:MAX_NAME_LENGTH], field_type_names(), n=1)
    if close:
        detail += f"; did you mean '{close[0]}'?"
    else:
        detail += f"; known types: {', '.join(field_type_names())}"
    return SpecError(path, detail, code="unknown_type")


def _check(spec: DatasetSpec) -> None:
    """Raise SpecError for problems that need more than one value to see."""
    if spec.format not in WRITERS:
        raise SpecError(
            "format",
            f"unsupported format '{spec.format}'; supported: {', '.join(WRITERS)}",
            code="unsupported_format",
        )
    for option, detail in option_problems(spec.format, spec.format_options):
        raise SpecError(f"format_options.{option}", detail)
    if spec.locale not in SUPPORTED_LOCALES:
        raise SpecError(
            "locale",
            f"unsupported locale '{spec.locale}'; supported: {', '.join(SUPPORTED_LOCALES)}",
            code="unsupported_locale",
        )
    _check_fields(spec.fields, spec.rows, spec.locale, "")
    seen_tables = {spec.name: "name"}
    for t, table in enumerate(spec.tables):
        if table.name in seen_tables:
            raise SpecError(
                f"tables[{t}].name",
                f"table name '{table.name}' is taken (by {seen_tables[table.name]})",
            )
        seen_tables[table.name] = f"tables[{t}]"
        _check_fields(table.fields, table.rows, spec.locale, f"tables[{t}].")
    from generators.dataset import check_references  # the engine checks keys: import late

    check_references(spec)


def _check_fields(fields: list[FieldOptions], rows: int, locale: str, prefix: str) -> None:
    """Raise SpecError for the first bad field of one table; paths start with ``prefix``."""
    seen: dict[str, int] = {}
    for i, field in enumerate(fields):
        path = f"{prefix}fields[{i}]"
        if field.name.strip() != field.name or not field.name.isprintable():
            raise SpecError(
                f"{path}.name",
                "field names must be printable with no leading or trailing spaces",
            )
        if field.name in seen:
            raise SpecError(
                f"{path}.name",
                f"duplicate field name '{field.name}' (also {prefix}fields[{seen[field.name]}])",
            )
        seen[field.name] = i
        if field.locale is not None and field.locale not in SUPPORTED_LOCALES:
            raise SpecError(
                f"{path}.locale",
                f"unsupported locale '{field.locale}'; supported: {', '.join(SUPPORTED_LOCALES)}",
                code="unsupported_locale",
            )
        for option, detail in field.problems(rows):
            raise SpecError(f"{path}.{option}", detail)
        if field.unique:
            _check_unique(field, path, rows, field.locale or locale)
    _check_templates(fields, prefix)


def _check_templates(table_fields: list[FieldOptions], prefix: str) -> None:
    """Refuses placeholders that name nothing, and templates that need each other."""
    fields = {field.name: field for field in table_fields}
    needs: dict[str, set[str]] = {}  # template → the templates of this table it uses
    for i, field in enumerate(table_fields):
        if not isinstance(field, TemplateField):
            continue
        used = dict.fromkeys(placeholder.name for placeholder in field.placeholders())
        for name in (name for name in used if name not in fields):
            entry = FIELD_TYPES.get(name)
            if entry is None or not _has_defaults(entry.options):
                close = difflib.get_close_matches(name, [*fields, *FIELD_TYPES], n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise SpecError(
                    f"{prefix}fields[{i}].template",
                    f"'{{{name}}}' is neither a field of this table nor a field type{hint}",
                )
        needs[field.name] = {name for name in used if isinstance(fields.get(name), TemplateField)}
    # Linear in the templates and their uses, so 200 long templates of one table cost little.
    cycle_of = _cycles(needs)
    for i, field in enumerate(table_fields):
        if field.name not in cycle_of:
            continue
        partner = next(
            name
            for name in needs
            if field.name in needs[name] and cycle_of.get(name) == cycle_of[field.name]
        )
        raise SpecError(
            f"{prefix}fields[{i}].template",
            f"templates '{field.name}' and '{partner}' need each other's values",
        )


def _cycles(needs: dict[str, set[str]]) -> dict[str, int]:
    """The templates that need their own value through others, each with the number of its
    cycle (Tarjan's strongly connected components, of more than one template)."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: dict[str, int] = {}

    def visit(name: str) -> None:  # at most one level per template: 200 deep at most
        order[name] = low[name] = len(order)
        stack.append(name)
        on_stack.add(name)
        for other in needs[name]:
            if other not in order:
                visit(other)
                low[name] = min(low[name], low[other])
            elif other in on_stack:
                low[name] = min(low[name], order[other])
        if low[name] == order[name]:
            component = stack[stack.index(name) :]
            del stack[stack.index(name) :]
            on_stack.difference_update(component)
            if len(component) > 1:
                found.update(dict.fromkeys(component, order[name]))

    for name in needs:
        if name not in order:
            visit(name)
    return found


def _has_defaults(options: type[FieldOptions]) -> bool:
    """True when the type can be drawn with no options but a name."""
    try:
        msgspec.convert({"type": options.__struct_config__.tag, "name": "x"}, options)
    except msgspec.ValidationError:
        return False
    return True


def _check_unique(field: FieldOptions, path: str, rows: int, locale: str) -> None:
    """Refuses, before any work, a unique field whose type cannot give ``rows`` values."""
    field_type = FIELD_TYPES[field.type_name]
    if field_type.capacity is None or field_type.from_index is None:
        raise SpecError(
            f"{path}.unique",
            f"type '{field.type_name}' cannot promise unique values",
            code="cannot_be_unique",
        )
    capacity = field_type.capacity(field, locale)
    if rows > capacity:
        raise SpecError(
            f"{path}.unique",
            f"{rows:,} unique values asked for, but '{field.type_name}' with these options "
            f"can give at most {capacity:,}",
            code="not_enough_unique_values",
        )


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _lookup(data: Any, path: str) -> Any:
    """Return the value at a path like ``fields[3].type`` in decoded JSON, or None."""
    for key, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        try:
            data = data[int(index)] if index else data[key]
        except (KeyError, IndexError, TypeError):
            return None
    return data
