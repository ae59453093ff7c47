"""Datasets: import sources, validation, content-addressed storage, manifests and sample data."""
