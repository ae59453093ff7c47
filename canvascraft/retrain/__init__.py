"""Retraining a registered model on newer data: request, train, compare on the same items, promote."""
