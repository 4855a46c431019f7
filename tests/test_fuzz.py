"""A short smoke of every fuzz target (``fuzz/targets.py``): its generated seeds and a few
hundred deterministic mutations of them must all be handled (a clear, recorded error is
fine; a finding or an escaping exception fails). The long, coverage-guided runs are
``make fuzz`` (atheris); one atheris run here checks that the harness itself works."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fuzz.targets import TARGETS

REPO = Path(__file__).resolve().parent.parent
#: Mutations per target (decoding video and images costs more per input).
BUDGET = {"image": 150, "video": 40}
INTERESTING = (0x00, 0x01, 0x7F, 0x80, 0xFF)


def mutations(seeds: list[bytes], rng: random.Random, count: int) -> Iterator[bytes]:
    """Bit flips, interesting bytes, truncations, insertions, duplicated and deleted runs,
    and splices of two seeds: the mutations libFuzzer starts with."""
    for _ in range(count):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            n = len(data)
            op = rng.randrange(7)
            at = rng.randrange(n + 1) if n else 0
            if op == 0 and n:
                data[at % n] ^= 1 << rng.randrange(8)
            elif op == 1 and n:
                data[at % n] = rng.choice(INTERESTING)
            elif op == 2:
                del data[at:]
            elif op == 3:
                data[at:at] = rng.randbytes(rng.randint(1, 16))
            elif op == 4 and n:
                end = min(n, at + rng.randint(1, 64))
                data[at:at] = data[at:end] * rng.randint(1, 8)
            elif op == 5 and n:
                del data[at : at + rng.randint(1, 64)]
            else:
                other = rng.choice(seeds)
                data = data[:at] + other[rng.randrange(len(other) + 1) :]
        yield bytes(data)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_target_survives_seeds_and_mutations(name: str) -> None:
    target = TARGETS[name]
    seeds = target.seeds()
    assert seeds, f"{name} has no seeds"
    for seed in seeds:
        target.run(seed)
    rng = random.Random(f"verisight-fuzz-{name}")
    for data in mutations(seeds, rng, BUDGET.get(name, 300)):
        target.run(data)


def test_atheris_runner_works(tmp_path: Path) -> None:
    pytest.importorskip("atheris", reason="atheris is a dev dependency (make test installs it)")
    cmd = ["fuzz/run.py", "generators", "--runs", "200", "--seconds", "60", "--out", str(tmp_path)]
    out = subprocess.run(
        [sys.executable, *cmd],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Done 200 runs" in out.stderr or "stat::number_of_executed_units: 200" in out.stderr


def test_oracles_catch_what_they_are_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each kind of oracle fails on a planted bug: a parser's TypeError, a bank reader's
    KeyError, an analysis internal error."""
    from fuzz import targets
    from verisight.analysis.provenance.registry import PARSERS

    parser = type(PARSERS[0])

    def broken(self: object, meta: object, ctx: object) -> None:
        raise TypeError("planted")

    with monkeypatch.context() as m:
        m.setattr(parser, "parse", broken)
        with pytest.raises(TypeError, match="planted"):
            targets.TARGETS["generators"].run(targets.TARGETS["generators"].seeds()[0])

    def broken_reader(*args: object, **kwargs: object) -> None:
        raise KeyError("planted")

    with monkeypatch.context() as m:
        m.setattr(targets, "read_bank", broken_reader)
        with pytest.raises(KeyError):
            targets._bank("csv")(b"md5\n")

    import verisight.analysis.analyse as analyse

    def broken_image(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("planted")

    with monkeypatch.context() as m:
        m.setattr(analyse, "_analyse_image", broken_image)
        with pytest.raises(targets.Finding, match="internal-error"):
            targets.TARGETS["image"].run(targets.TARGETS["image"].seeds()[0])
