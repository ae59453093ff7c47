"""Contract test suites that ship with the studio, one module per extension point.

Every implementation's test inherits the contract class for its kind (as Optuna's samplers do), so a
new brush, trainer, executor, observer or alert channel proves itself against the same checks. These
modules import pytest; nothing outside tests imports them.
"""
