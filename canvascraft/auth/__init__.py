"""Who is acting: people, roles, and the checks that every page action and API route goes through."""
