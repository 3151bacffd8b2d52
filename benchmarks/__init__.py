"""Benchmarks: client CPU per call against the emulator. Run with ``make bench``."""
