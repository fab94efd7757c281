"""Kinfolk's benchmark: `make bench` (or `python -m bench`) measures the hot paths as ratios to
anchors measured on the same machine in the same run, and writes bench/out/report.json."""
