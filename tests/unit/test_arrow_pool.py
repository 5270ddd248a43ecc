"""The engine's Arrow memory pool: the C library's allocator (lower peak memory, see
generators/__init__.py), whichever of pyarrow and the engine loads first, unless the operator
chose another with ARROW_DEFAULT_MEMORY_POOL."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("imports", "chosen", "expected"),
    [
        ("import generators.engine, pyarrow as pa", None, "system"),
        ("import pyarrow as pa; import generators.engine", None, "system"),
        ("import generators.engine, pyarrow as pa", "jemalloc", "jemalloc"),
    ],
)
def test_the_engine_allocates_with_the_c_library_unless_told_otherwise(
    imports: str, chosen: str | None, expected: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if chosen:
        env["ARROW_DEFAULT_MEMORY_POOL"] = chosen
    probe = f"{imports}; print(pa.default_memory_pool().backend_name)"
    printed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env
    ).stdout.strip()
    assert printed == expected


def test_the_terminal_tables_load_no_pyarrow() -> None:
    probe = "import sys, generators.tables; print('pyarrow' in sys.modules)"
    printed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert printed == "False"
