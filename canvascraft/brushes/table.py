"""Table brushes: scikit-learn transformers fitted on the training split only."""
