"""`python -m mlopslab` is the `mlopslab` command."""

from mlopslab.cli import main

main()
