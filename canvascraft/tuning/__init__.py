"""Tuning with Optuna: search spaces over hyperparameters and brush parameters, studies in Optuna's
RDB storage, a driver job that asks and tells, and trial jobs that report and get pruned."""
