"""Option structs for each field type: what a user may write inside one ``fields[i]``.

Each struct's tag is the field type's name on the wire (``{"type": "integer", ...}``);
the catalog pairs each struct with its column generator. ``problems`` reports option
combinations that types alone cannot express, as ``(option, detail)`` pairs.
"""

import datetime as dt
import math
from collections.abc import Iterator
from typing import Annotated

import msgspec

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

Int64 = Annotated[int, msgspec.Meta(ge=INT64_MIN, le=INT64_MAX)]
Rate = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
FieldName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]

MAX_CHOICE_VALUES = 10_000


class FieldOptions(
    msgspec.Struct,
    tag_field="type",
    forbid_unknown_fields=True,
    frozen=True,
    kw_only=True,
):
    """Options every field type has: the column ``name`` and its ``null_rate``."""

    name: FieldName
    null_rate: Rate = 0.0

    @property
    def type_name(self) -> str:
        """Return the field type's name, i.e. this struct's wire tag."""
        return str(self.__struct_config__.tag)

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        """Yield ``(option, detail)`` for each option value that cannot work."""
        return iter(())


class SequenceField(FieldOptions, tag="sequence", frozen=True):
    start: Int64 = 1
    step: Int64 = 1

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        last = self.start + self.step * (rows - 1)
        if not INT64_MIN <= last <= INT64_MAX:
            yield (
                "step",
                f"the sequence would reach {last}, outside the 64-bit integer range",
            )


class IntegerField(FieldOptions, tag="integer", frozen=True):
    min: Int64 = 0
    max: Int64 = 100

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        if self.min > self.max:
            yield "min", f"min ({self.min}) is greater than max ({self.max})"


class FloatField(FieldOptions, tag="float", frozen=True):
    min: float = 0.0
    max: float = 100.0
    decimals: Annotated[int, msgspec.Meta(ge=0, le=10)] = 2

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        for option, value in (("min", self.min), ("max", self.max)):
            if not math.isfinite(value):
                yield option, f"{option} must be a finite number"
        if self.min > self.max:
            yield "min", f"min ({self.min}) is greater than max ({self.max})"
        elif not math.isfinite(self.max - self.min):
            yield "max", "max - min is too large to draw from"


class BooleanField(FieldOptions, tag="boolean", frozen=True):
    true_rate: Rate = 0.5


class ChoiceField(FieldOptions, tag="choice", frozen=True):
    values: Annotated[list[str], msgspec.Meta(min_length=1, max_length=MAX_CHOICE_VALUES)]
    weights: list[float] | None = None

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        for i, value in enumerate(self.values):
            if not value:
                yield f"values[{i}]", "values must be non-empty strings"
        if self.weights is None:
            return
        if len(self.weights) != len(self.values):
            yield (
                "weights",
                f"{len(self.weights)} weights for {len(self.values)} values; give one per value",
            )
        elif not all(math.isfinite(w) and w >= 0 for w in self.weights):
            yield "weights", "weights must be finite numbers >= 0"
        elif sum(self.weights) <= 0:
            yield "weights", "at least one weight must be greater than 0"


class Uuid4Field(FieldOptions, tag="uuid4", frozen=True):
    pass


class DateField(FieldOptions, tag="date", frozen=True):
    start: dt.date = dt.date(2000, 1, 1)
    end: dt.date = dt.date(2030, 12, 31)

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        if self.start > self.end:
            yield "start", f"start ({self.start}) is after end ({self.end})"


class FirstNameField(FieldOptions, tag="first_name", frozen=True):
    pass


class LastNameField(FieldOptions, tag="last_name", frozen=True):
    pass


class FullNameField(FieldOptions, tag="full_name", frozen=True):
    pass


class EmailField(FieldOptions, tag="email", frozen=True):
    pass


class PhoneField(FieldOptions, tag="phone", frozen=True):
    pass
