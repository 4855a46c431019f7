"""``python -m verisight``: the same command as ``verisight``."""

from verisight.cli import main

main()
