"""The throughput, latency and memory benchmark of issue 8: `python -m bench.run`."""
