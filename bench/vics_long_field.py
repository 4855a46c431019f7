"""Reading a VICS file whose one ``Comments`` field is huge: time should grow linearly.

The anchor is a file with a 20 MB field; the others have 2x and 4x that. Linear reading shows
ratios near 2 and 4 (it was quadratic, about 4 and 16, before strings were cut while reading:
80 MB took 27 s).

    .venv/bin/python bench/vics_long_field.py [MB]
"""

from __future__ import annotations

import io
import sys
import time

from verisight.matching import read_bank


def seconds(megabytes: int) -> float:
    raw = (
        b'{"value": [{"MD5": "' + b"ab" * 16 + b'", "Comments": "'
        + b"x\\n\xc3\xa9" * (megabytes * 1024 * 1024 // 4) + b'"}]}'
    )  # fmt: skip
    start = time.perf_counter()
    entries = list(read_bank(io.BytesIO(raw), "vics"))
    elapsed = time.perf_counter() - start
    assert len(entries) == 1 and entries[0].comments is not None
    return elapsed


def main() -> None:
    base = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    anchor = seconds(base)
    print(f"{'field MB':>9} {'seconds':>8} {'ratio':>6}")
    for factor in (1, 2, 4):
        took = anchor if factor == 1 else seconds(base * factor)
        print(f"{base * factor:>9} {took:>8.2f} {took / anchor:>6.2f}")


if __name__ == "__main__":
    main()
