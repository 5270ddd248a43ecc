"""users10: our engine (to CSV and to Parquet) against a plain Faker loop and Mimesis, one run.

The reference spec has ten columns: id, full name, kana name, email derived from the name,
phone, postcode, address, birth date, balance and active flag, in ja_JP and en_US. Every case
runs in a fresh child process pinned to one CPU, so its peak RSS (the child's ru_maxrss) and
its speed are its own. The baselines are row loops, far slower: they get fewer rows and are
compared by rows/s.

    .venv/bin/python benchmarks/users10.py [--rows 1000000] [--baseline-rows 20000]
    .venv/bin/python benchmarks/users10.py --big    # 50M rows of CSV on disk: peak RSS < 300 MB
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BIG_ROWS = 50_000_000
RSS_BAR_MIB = 300
FIELDS: tuple[dict[str, Any], ...] = (
    {"name": "id", "type": "sequence"},
    {"name": "name", "type": "full_name"},
    {"name": "kana", "type": "full_name_kana"},
    {"name": "email", "type": "email"},  # from the same person's romanised name
    {"name": "phone", "type": "phone"},
    {"name": "postcode", "type": "postcode"},
    {"name": "address", "type": "address"},
    {"name": "birth_date", "type": "date_of_birth"},
    {"name": "balance", "type": "decimal", "min": 0, "max": 1_000_000, "decimals": 2},
    {"name": "active", "type": "boolean", "true_rate": 0.8},
)
COLUMNS = tuple(field["name"] for field in FIELDS)
CASES = ("engine csv", "engine parquet", "faker loop", "mimesis loop")


def users10_spec(locale: str, rows: int, format: str) -> dict[str, Any]:
    """The users10 reference spec."""
    return {
        "name": "users10",
        "rows": rows,
        "format": format,
        "locale": locale,
        "seed": 42,
        "fields": list(FIELDS),
    }


# --- the cases, each run in its own child process --------------------------------------------


def run_engine(locale: str, rows: int, path: Path, format: str) -> float:
    """Write the file; return the seconds spent building lookup tables before it."""
    from generators.engine import generate_block
    from generators.output import write_dataset
    from generators.spec import parse_spec

    started = time.perf_counter()
    # One tiny block first: the lookup tables (names, postal records) are built once per
    # process, so this splits that fixed cost from the per-row rate.
    generate_block(parse_spec(users10_spec(locale, 1, format)), 0)
    setup = time.perf_counter() - started
    spec = parse_spec(users10_spec(locale, rows, format))
    with path.open("wb", buffering=1024 * 1024) as sink:
        write_dataset(spec, sink)
    return setup


def run_faker(locale: str, rows: int, path: Path) -> None:
    from faker import Faker

    fake = Faker(locale)
    fake.seed_instance(42)
    kana = fake.kana_name if locale == "ja_JP" else fake.name  # en_US has no reading
    with path.open("w", newline="", encoding="utf-8") as file:
        out = csv.writer(file)
        out.writerow(COLUMNS)
        for i in range(rows):
            out.writerow(
                (
                    i + 1,
                    fake.name(),
                    kana(),
                    fake.email(),
                    fake.phone_number(),
                    fake.postcode(),
                    fake.address().replace("\n", " "),
                    fake.date_of_birth(minimum_age=18, maximum_age=90).isoformat(),
                    fake.pydecimal(left_digits=6, right_digits=2, positive=True),
                    fake.boolean(chance_of_getting_true=80),
                )
            )


def run_mimesis(locale: str, rows: int, path: Path) -> None:
    from mimesis import Address, Datetime, Development, Locale, Numeric, Person

    code = Locale.JA if locale == "ja_JP" else Locale.EN
    person, address, dates = Person(code, seed=42), Address(code, seed=42), Datetime(code, seed=42)
    numbers, flags = Numeric(seed=42), Development(seed=42)
    with path.open("w", newline="", encoding="utf-8") as file:
        out = csv.writer(file)
        out.writerow(COLUMNS)
        for i in range(rows):
            name = person.full_name()
            out.writerow(
                (
                    i + 1,
                    name,
                    name,  # Mimesis has no kana reading
                    person.email(),
                    person.phone_number(),
                    address.postal_code(),
                    address.address(),
                    dates.date(1936, 2008).isoformat(),
                    numbers.float_number(0, 1_000_000, precision=2),
                    flags.boolean(),
                )
            )


def child(case: str, locale: str, rows: int, cpu: int | None) -> dict[str, float]:
    """Run one case into a temporary folder; return its seconds (set-up apart), bytes, peak RSS."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    # Import each case's libraries before the clock starts: imports are no part of the rate.
    if case.startswith("engine"):
        import generators.output  # noqa: F401
    elif case == "faker loop":
        import faker  # noqa: F401
    else:
        import mimesis  # noqa: F401
    # Files go to memory (tmpfs) where there is one, so the disk's write-back does not blur
    # the engine's rate; --big writes to the disk, where 50M rows belong.
    shm = Path("/dev/shm")  # noqa: S108 - a fresh private folder inside it, made by tempfile
    memory = str(shm) if shm.is_dir() and rows <= 5_000_000 else None
    with tempfile.TemporaryDirectory(prefix="users10-", dir=memory) as folder:
        path = Path(folder) / "users10.out"
        started = time.perf_counter()
        setup = 0.0
        if case == "engine csv":
            setup = run_engine(locale, rows, path, "csv")
        elif case == "engine parquet":
            setup = run_engine(locale, rows, path, "parquet")
        elif case == "faker loop":
            run_faker(locale, rows, path)
        else:
            run_mimesis(locale, rows, path)
        seconds = time.perf_counter() - started
        size = path.stat().st_size
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds - setup, "setup": setup, "bytes": size, "peak_rss_mib": peak}


# --- the parent: run every case, print the table ---------------------------------------------


def measure(case: str, locale: str, rows: int, cpu: int | None) -> dict[str, float] | str:
    """Return the child's measurements, or why the case could not run."""
    command = [sys.executable, __file__, "--child", case, locale, str(rows)]
    if cpu is not None:
        command += ["--cpu", str(cpu)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def print_table(locale: str, rows_by_case: dict[str, int], cpu: int | None) -> None:
    """Run each case for ``locale`` and print one table line per case as it finishes."""
    notes = [f"one CPU ({'cpu ' + str(cpu) if cpu is not None else 'any'})"]
    notes.append("Mimesis kana = name" if locale == "ja_JP" else "baselines' kana = name")
    print(f"\nusers10 {locale}; {'; '.join(notes)}; rows/s and MB/s after set-up")
    print(
        f"{'case':<15} {'rows':>11} {'setup s':>8} {'seconds':>8} {'rows/s':>11} {'MB/s':>7}"
        f" {'peak RSS MiB':>13}"
    )
    faker_rate = None
    for case, rows in rows_by_case.items():
        result = measure(case, locale, rows, cpu)
        if isinstance(result, str):
            print(f"{case:<15} failed: {result[:100]}")
            continue
        rate = rows / result["seconds"]
        mbps = result["bytes"] / result["seconds"] / 1e6
        line = (
            f"{case:<15} {rows:>11,} {result['setup']:>8.2f} {result['seconds']:>8.2f}"
            f" {rate:>11,.0f} {mbps:>7.1f} {result['peak_rss_mib']:>13.0f}"
        )
        if case == "faker loop":
            faker_rate = rate
        elif faker_rate:
            line += f"   {rate / faker_rate:,.0f}x the Faker loop"
        print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="engine rows per case")
    parser.add_argument("--baseline-rows", type=int, default=20_000, help="Faker/Mimesis rows")
    parser.add_argument("--locales", nargs="+", default=["ja_JP", "en_US"])
    parser.add_argument("--big", action="store_true", help=f"{BIG_ROWS:,} rows of CSV only")
    parser.add_argument(
        "--cpu", type=int, default=max(os.sched_getaffinity(0)), help="CPU to pin each case to"
    )
    parser.add_argument(
        "--child", nargs=3, metavar=("CASE", "LOCALE", "ROWS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        case, locale, rows = args.child
        print(json.dumps(child(case, locale, int(rows), args.cpu)))
        return
    if args.big:
        for locale in args.locales[:1]:
            print_table(locale, {"engine csv": BIG_ROWS}, args.cpu)
        print(f"bar: peak RSS < {RSS_BAR_MIB} MiB for {BIG_ROWS:,} rows")
        return
    # Baselines first, so each engine line can say how many times faster it is.
    rows_by_case = {
        "faker loop": args.baseline_rows,
        "mimesis loop": args.baseline_rows,
        "engine csv": args.rows,
        "engine parquet": args.rows,
    }
    for locale in args.locales:
        print_table(locale, rows_by_case, args.cpu)


if __name__ == "__main__":
    main()
