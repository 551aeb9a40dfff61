# list the recipes
default:
    @just --list

# lint, types and tests
check: lint types test

# the whole test suite (what CI runs)
test:
    python -m pytest

# fast unit tests only
unit:
    python -m pytest tests/core tests/store tests/test_config.py -q

# ruff
lint:
    ruff check mlopslab tests

# mypy on the package
types:
    mypy mlopslab

# the end-to-end demo
demo:
    mlopslab demo

# the benchmark suite, each beside its peer; writes benchmarks/README.md's summary (benchmarks/__main__.py)
bench *ARGS:
    python -m benchmarks {{ARGS}}

# every benchmark's harness at tiny sizes, no timing judged (what CI runs)
bench-quick:
    python -m benchmarks --quick

# regenerate screenshots/ from a seeded demo lab
screenshots:
    python scripts/screenshots.py
