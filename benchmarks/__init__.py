"""Benchmarks on the real local stack, each figure beside a raw baseline from the same run."""
