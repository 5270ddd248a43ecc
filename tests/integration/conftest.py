"""Fixtures that several integration modules share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.services import Stack, stack_of_its_own


@pytest.fixture(scope="module")
def local_stack(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """API, worker and scheduler keeping files on the local disk, as `tdbuddy dev` does."""
    local_env = {k: v for k, v in stack_env.items() if not k.startswith("S3_")}
    with stack_of_its_own(
        local_env,
        tmp_path_factory.mktemp("local-logs"),
        "local",
        STORAGE_DIR=str(tmp_path_factory.mktemp("local-files")),
    ) as stack:
        yield stack
