"""People and roles as pages, the CLI and the API see them: who is acting, and what their role allows."""

from __future__ import annotations

from canvascraft.auth.identity import LOCAL, ROLES, Person, acting_as, current_person, require_role

__all__ = ["LOCAL", "ROLES", "Person", "acting_as", "current_person", "require_role"]
