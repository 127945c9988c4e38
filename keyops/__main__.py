"""Allow ``python -m keyops``."""

from keyops.cli.main import main

main()
