"""`python -m stackgen` runs the CLI."""

from stackgen.cli import main

main()
