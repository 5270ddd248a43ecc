"""The pure data-generation engine: dataset specs, the field-type catalog, writers."""

import os
import sys

# Arrow's default pool (mimalloc) keeps freed block buffers mapped: on users10 the C library's
# allocator gave a peak RSS 35 MiB lower at the same speed (benchmarks/users10.py run with each
# ARROW_DEFAULT_MEMORY_POOL). An operator's own choice of pool is kept. Arrow reads the
# variable when it first allocates, so light modules (generators.tables) stay free of pyarrow;
# if pyarrow was loaded first, the pool is set on it directly.
if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
    os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "system"
    if "pyarrow" in sys.modules:
        arrow = sys.modules["pyarrow"]
        arrow.set_memory_pool(arrow.system_memory_pool())
