"""Compare the regenerated tables of two checkouts cell by cell (a refactor's proof of no change).

    python .ci/compare_tables.py OLD/paper_tables NEW/paper_tables [--names table1 table3 ...]

Rows are matched by key (part, setting, dataset), never by position; a row present on one side only is
reported. Prints one line per table and exits 1 if any computed value differs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

KEY = ["part", "setting", "dataset"]


def compare(old_csv: Path, new_csv: Path) -> tuple[int, int, list[str]]:
    old, new = pd.read_csv(old_csv), pd.read_csv(new_csv)
    merged = old[KEY + ["reproduced"]].merge(new[KEY + ["reproduced"]], on=KEY, how="outer",
                                             suffixes=("_old", "_new"), indicator="side")
    problems = []
    same = 0
    for row in merged.itertuples(index=False):
        where = f"{row.part} / {row.setting} / {row.dataset}"
        if row.side != "both":
            problems.append(f"{where}: only in the {'old' if row.side == 'left_only' else 'new'} table")
        elif pd.isna(row.reproduced_old) and pd.isna(row.reproduced_new) or row.reproduced_old == row.reproduced_new:
            same += 1
        else:
            problems.append(f"{where}: {row.reproduced_old} -> {row.reproduced_new}")
    return same, len(merged), problems


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("old", type=Path)
    p.add_argument("new", type=Path)
    p.add_argument("--names", nargs="*", help="tables/figures to compare (default: every CSV in OLD)")
    args = p.parse_args()
    names = args.names or sorted(c.stem for c in args.old.glob("*.csv"))
    failed = False
    for name in names:
        old_csv, new_csv = args.old / f"{name}.csv", args.new / f"{name}.csv"
        if not new_csv.exists():
            print(f"{name}: missing in {args.new}")
            failed = True
            continue
        same, total, problems = compare(old_csv, new_csv)
        print(f"{name}: {same}/{total} rows identical" + "".join(f"\n  {p}" for p in problems))
        failed |= bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
