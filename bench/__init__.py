"""Load benchmark for the scale-out topology: `python -m bench --help` (docs/performance.md)."""
