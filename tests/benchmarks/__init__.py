"""Benchmarks (`make bench`): ack latency against a bare Bolt floor, alert delivery under 429s."""
