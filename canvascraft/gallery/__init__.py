"""The Gallery: finished training runs browsed, inspected and compared (read from MLflow).

``runs`` (the grid: filters, sort, paging, facets), ``detail`` (one run in full: curves, per-class
metrics, confusion matrix, embedding map, checkpoints, artifacts, lineage) and ``compare`` (runs side
by side). Import the module you need: nothing is re-exported here, so a page that only lists runs
never loads plotly's figure code or scikit-learn.
"""
