"""Entry points the job pool starts as OS processes (``python -m jobs.<name> JOB_ID``).

Each one reads its spec from the database by id and reports back through the store; the logic lives
in ``canvascraft/``. Training adds the first of them.
"""
