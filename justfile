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

# measure run overhead and metric throughput (docs/performance.md)
bench:
    python benchmarks/run_overhead.py

# regenerate screenshots/ from a seeded demo lab
screenshots:
    python scripts/screenshots.py
