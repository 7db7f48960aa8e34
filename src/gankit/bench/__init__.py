"""Measuring speed: `gankit bench speed` (speed.py) and what it is built from.

    gemm.py       the matrix products and convolutions a step runs: recorded, replayed alone
    peak.py       this machine's fp32 matrix-product peak, timed in the same process
    reference.py  the same networks in a plain loop written the way tutorials write it
    timing.py     interleaved rounds, so every ratio compares workloads under the same load
    speed.py      the bench itself: one config in, one dict of numbers out
    compare.py    variants of a config (speed options) timed in the same rounds
"""
