"""`python -m benchmarks`: the one entry point (`make bench` calls it)."""

from benchmarks.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
