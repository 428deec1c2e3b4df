"""Peer servers run beside Tidings in the benchmarks (tests/bench/peers.py)."""
