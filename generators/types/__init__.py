"""Field type families: each module defines option structs, column functions and ``TYPES``."""
