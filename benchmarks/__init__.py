"""Throughput and memory benchmarks of the WMS -> warehouse data path.

`python -m benchmarks --scale N` (or `make bench SCALE=N`) starts the WMS simulator at scale N
and measures, each on fresh output, a minimal hand-written loader (the floor, our yardstick),
the tap alone, the target alone, `meltano run full_sync` and an incremental run after 0.1 % of
the records changed. See `benchmarks/README.md` for the options and `benchmarks/profile.md` for
profiling the tap and the target.
"""
