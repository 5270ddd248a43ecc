"""The pure data-generation engine: dataset specs, the field-type catalog, writers."""

import os

import pyarrow as pa  # type: ignore[import-untyped]

# Arrow's default pool (mimalloc) keeps freed block buffers mapped: on users10 the C library's
# allocator gave a peak RSS 35 MiB lower at the same speed (benchmarks/users10.py run with each
# ARROW_DEFAULT_MEMORY_POOL). An operator's own choice of pool is kept.
if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
    pa.set_memory_pool(pa.system_memory_pool())
