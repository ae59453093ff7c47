"""Share links: view state ⇄ URL query parameters (ids and filter values only, never paths)."""
