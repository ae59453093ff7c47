"""APScheduler set-up for the studio's background work, and the thin functions it runs."""

from canvascraft.scheduler.background import BACKGROUND_JOBS, start_background

__all__ = ["BACKGROUND_JOBS", "start_background"]
