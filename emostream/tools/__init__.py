"""Offline tools beside the daemon: benchmark, demo, report, evaluation, dashboard."""
