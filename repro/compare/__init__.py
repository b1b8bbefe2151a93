"""Comparison layer: activity statistics, distances between runs, and seed-aware verdicts."""
