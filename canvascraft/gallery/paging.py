"""Page numbers (what a share link carries) to the offset tokens MLflow pages runs with."""

from __future__ import annotations

from mlflow.utils.search_utils import SearchUtils


def token_for_page(page: int, page_size: int) -> str | None:
    """MLflow's page token for 1-based ``page``; ``None`` for the first page."""
    if page <= 1:
        return None
    token = SearchUtils.create_page_token((page - 1) * page_size)
    return token.decode() if isinstance(token, bytes) else token
