"""Benchmarks (not tests): ``make bench`` runs each area and writes ``bench/results.md``."""
