"""Benchmarks that print figures (no pass/fail); see bench/README.md."""
