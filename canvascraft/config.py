"""One typed settings object for the whole studio, read from ``CANVASCRAFT_*`` environment variables.

Every path and URL the studio uses is derived here, so pages, the CLI and job processes agree on
where things live without passing paths around.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_STUDIO_URL = "http://localhost:8501"
SERVED_URL_ENV = "CANVASCRAFT_SERVED_URL"
ROLE_NAMES = ("viewer", "artist", "admin")
"""The roles a setting may name, lowest first (``canvascraft.auth.identity.ROLES`` is this tuple)."""
STUDIO_URL_FILE = "studio-url"
"""Where a started studio records its address in the workspace, for processes it did not start."""


class Settings(BaseSettings):
    """Studio settings; the README lists each one with its environment variable."""

    model_config = SettingsConfigDict(env_prefix="CANVASCRAFT_", extra="ignore")

    workspace: Path = Field(
        default=Path("workspace"),
        description="Folder holding the databases, stored files, sample data and run artifacts.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the studio's own database (default: SQLite file in the workspace).",
    )
    mlflow_tracking_uri: str | None = Field(
        default=None, description="MLflow tracking URI (default: SQLite file in the workspace)."
    )
    mlflow_artifact_root: Path | None = Field(
        default=None, description="Where MLflow stores artifacts (default: workspace/mlartifacts)."
    )
    max_upload_mb: int = Field(
        default=200, ge=1, description="Largest file (upload or archive member) accepted, in MB."
    )
    max_archive_mb: int = Field(
        default=4096, ge=1, description="Most a .zip may inflate to, all members together, in MB."
    )
    max_archive_members: int = Field(
        default=20_000, ge=1, description="Most files a .zip may hold (folders not counted)."
    )
    max_table_columns: int = Field(
        default=1000, ge=1, description="Most columns a table may have (each becomes a model input)."
    )
    max_audio_seconds: float = Field(
        default=600.0, gt=0, description="Longest audio clip accepted at import, in seconds."
    )
    max_audio_sample_rate: int = Field(
        default=192_000, ge=1, description="Highest audio sample rate accepted at import, in Hz."
    )
    max_audio_channels: int = Field(default=8, ge=1, description="Most audio channels accepted at import.")
    max_clip_memory_mb: int = Field(
        default=1024,
        ge=1,
        description="Most memory one clip may need through an audio recipe (estimated from the recipe's "
        "settings and the dataset's longest clip before a job starts or a preview runs), in MB.",
    )
    image_kernels: Literal["opencv", "torchvision"] = Field(
        default="opencv",
        description="Which kernels the image brushes run: OpenCV's uint8 ones (fast), or torchvision's, "
        "the reference they are tested against (same draws, pictures within a grey level or two).",
    )
    max_image_pixels: int = Field(
        default=40_000_000,
        ge=1,
        description="Images with more pixels are refused as possible decompression bombs.",
    )
    import_workers: int = Field(
        default_factory=lambda: min(4, os.cpu_count() or 1),
        ge=1,
        le=64,
        description="Threads that validate and store files during an import (default: cores, at most 4).",
    )
    max_concurrent_jobs: int | None = Field(
        default=None,
        ge=1,
        description="Jobs the pool runs at once (default: one per CUDA device, or 1 without a GPU).",
    )
    job_cancel_grace_s: float = Field(
        default=10.0,
        ge=0,
        description="Seconds a cancelled job gets to stop after SIGTERM before it is killed with SIGKILL.",
    )
    job_memory_limit_mb: int | None = Field(
        default=None,
        ge=64,
        description="Memory each job process may allocate, in MB, beyond what its interpreter and "
        "libraries map when it starts (applied as RLIMIT_AS); none by default. A job that needs more fails "
        "saying it ran out of memory, and the machine stays usable.",
    )
    warm_jobs: bool = Field(
        default=True,
        description="Start jobs from a process that has imported torch and MLflow already (seconds "
        "saved per job); off: every job starts a fresh interpreter.",
    )
    optuna_storage_url: str | None = Field(
        default=None,
        description="Optuna RDB storage of tuning studies (default: SQLite file in the workspace).",
    )
    studio_url: str = Field(
        default=DEFAULT_STUDIO_URL,
        description="The studio's address as others reach it; alert links, share links printed by the CLI "
        "and Copy link start with it (default: the address the studio was last started on).",
    )
    link_keys: str | None = Field(
        default=None,
        description="Keys that sign share links, oldest to newest, separated by commas: the newest signs, "
        "all verify (default: a key file made in the workspace on first use, `link-keys.json`).",
    )
    link_expires: str = Field(
        default="30d",
        description="How long a share link made without --expires lives: 30d, 12h, 90m or seconds.",
    )
    served_url: str | None = Field(
        default=None,
        description="Set by the studio's launcher for its own processes: the address it serves on.",
    )
    pool_tick_s: float = Field(
        default=1.0,
        ge=0,
        description="How often the studio's scheduler records ended jobs and starts queued ones (0: never).",
    )
    drift_schedules: bool = Field(
        default=True,
        description="Whether this studio process runs the drift checks scheduled in the workspace database.",
    )
    smtp_host: str = Field(default="127.0.0.1", description="SMTP server that sends alert emails.")
    smtp_port: int = Field(
        default=25, ge=1, le=65535, description="Port of the SMTP server for alert emails."
    )
    smtp_from: str = Field(
        default="studio@canvascraft.local", description="From address of the alert emails the studio sends."
    )
    alert_retry_s: float = Field(
        default=2.0,
        ge=0,
        description="How often the studio's scheduler retries alert deliveries that are due (0: never).",
    )
    log_format: Literal["json", "text"] = Field(
        default="json",
        description="How the server writes its log lines to stderr: one JSON object per line, or text. "
        "Job logs (jobs/<id>.log) stay text either way.",
    )
    log_file: Path | None = Field(
        default=None,
        description="Where every studio process appends its JSON log lines (default: "
        "workspace/logs/studio.jsonl).",
    )
    encryption_keys: str | None = Field(
        default=None,
        repr=False,
        description="Fernet keys (comma separated, newest first) that seal stored files and checkpoints "
        "at rest; off when unset. Make one with `canvascraft encryption new-key`.",
    )
    role_claim: str = Field(
        default="groups",
        description="The identity provider's claim that carries a signed-in person's groups or roles "
        "(a list or a space- or comma-separated string), mapped to studio roles by CANVASCRAFT_ROLE_MAP.",
    )
    role_map: str = Field(
        default="",
        description="Which value of the role claim gives which role: `studio-admins=admin,artists=artist` "
        "(the highest role a person's values map to wins; roles: viewer, artist, admin).",
    )
    default_role: Literal["viewer", "artist", "admin"] = Field(
        default="viewer",
        description="The role of a signed-in person whose claim maps to no role (and no admin set one).",
    )
    signin_attempts: int = Field(
        default=10,
        ge=1,
        description="Sign-in attempts (starts and failures) one address may make per "
        "CANVASCRAFT_SIGNIN_WINDOW_S before the studio answers 429 for the rest of the window.",
    )
    signin_window_s: float = Field(
        default=300.0, gt=0, description="The window of CANVASCRAFT_SIGNIN_ATTEMPTS, in seconds."
    )
    sqlite_busy_timeout_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="Seconds a write waits for a SQLite database another process holds locked.",
    )

    @field_validator("role_map", mode="after")
    @classmethod
    def _known_roles(cls, value: str) -> str:
        parse_role_map(value)  # a ValueError names the entry and the roles
        return value

    @field_validator("workspace", mode="after")
    @classmethod
    def _absolute_workspace(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.workspace / 'canvascraft.db'}"

    @property
    def tracking_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{self.workspace / 'mlflow.db'}"

    @property
    def optuna_url(self) -> str:
        """A third database beside ours and MLflow's: each keeps its own Alembic history."""
        return self.optuna_storage_url or f"sqlite:///{self.workspace / 'optuna.db'}"

    @property
    def artifact_root(self) -> Path:
        return (self.mlflow_artifact_root or self.workspace / "mlartifacts").resolve()

    @property
    def encryption_key_list(self) -> list[str]:
        """The keys of ``encryption_keys``, newest first; empty when encryption is off."""
        return [key.strip() for key in (self.encryption_keys or "").split(",") if key.strip()]

    @property
    def blob_dir(self) -> Path:
        """Content-addressed file store (sha256) for every imported item."""
        return self.workspace / "blobs"

    @property
    def drift_reference_dir(self) -> Path:
        """Each watched run's prepared drift reference (``RUN_ID.npz``), rebuilt from its items if lost."""
        return self.workspace / "drift-references"

    @property
    def sample_dir(self) -> Path:
        return self.workspace / "sample-data"

    @property
    def jobs_dir(self) -> Path:
        """One log file per job lives here, so a finished job's output outlives its process."""
        return self.workspace / "jobs"

    @property
    def link_keys_file(self) -> Path:
        """The share-link key ring, made on first use, readable by its owner only."""
        return self.workspace / "link-keys.json"

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def studio_url_explicit(self) -> bool:
        """``CANVASCRAFT_STUDIO_URL`` is set: the address others reach, which links always use."""
        return "studio_url" in self.model_fields_set

    @property
    def link_base(self) -> str:
        """The address links to this studio start with: ``CANVASCRAFT_STUDIO_URL`` when it is set, else
        the address the studio was last started on (recorded in the workspace by ``serve_at``), else
        the default. Links made on a default while the studio ran on another port were all dead."""
        if self.studio_url_explicit:
            return self.studio_url.rstrip("/")
        if self.served_url:
            return self.served_url.rstrip("/")
        try:
            recorded = (self.workspace / STUDIO_URL_FILE).read_text(encoding="utf-8").strip()
        except OSError:
            recorded = ""
        return (recorded or self.studio_url).rstrip("/")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call ``get_settings.cache_clear()`` after changing the env.

    A bad value raises ``ConfigError`` naming each variable, its value and the rule, not pydantic's
    whole report."""
    try:
        return Settings()
    except ValidationError as error:
        from canvascraft.errors import ConfigError

        raise ConfigError(settings_problems(error)) from None


def parse_role_map(text: str) -> dict[str, str]:
    """``"studio-admins=admin, artists=artist"`` → ``{"studio-admins": "admin", "artists": "artist"}``;
    a ``ValueError`` naming the entry that is not ``VALUE=ROLE`` or names no role."""
    mapping: dict[str, str] = {}
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        value, sep, role = entry.rpartition("=")
        value, role = value.strip(), role.strip()
        if not sep or not value:
            raise ValueError(f"role map entry {entry!r} is not VALUE=ROLE (e.g. studio-admins=admin)")
        if role not in ROLE_NAMES:
            known = ", ".join(ROLE_NAMES)
            raise ValueError(f"role map entry {entry!r}: unknown role {role!r}, choose one of {known}")
        mapping[value] = role
    return mapping


LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
"""The addresses that reach this machine only."""


def is_loopback(host: str | None) -> bool:
    """Whether a server bound to ``host`` is reachable from this machine only."""
    return (host or "").strip().lower() in LOOPBACK


def check_loopback(host: str, server: str, harm: str) -> None:
    """Refuse to bind ``server`` (which has no login of its own) anywhere but this machine: a
    ``ConfigError`` saying what anyone who reached it could do (``harm``) and the way from outside."""
    if not is_loopback(host):
        from canvascraft.errors import ConfigError

        raise ConfigError(
            f"{server} serves on 127.0.0.1 only (got --host {host}): it has no login of its own, so "
            f"anyone who reached it could {harm}. Open it on this machine; from other machines, "
            "predictions and everything else go through the studio's HTTP API (/api/v1, with a token "
            "from `canvascraft tokens create`), served beside the studio's pages behind its login"
        )


def studio_url_for(port: int, address: str | None = None) -> str:
    """The URL a studio served on ``address:port`` is reached at; a wildcard or empty address is this
    machine, reached as ``localhost``."""
    host = (address or "").strip()
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "localhost"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def serve_at(port: int, address: str | None = None) -> str:
    """Record that the studio is served on ``address:port``, before its server and background
    processes start, and return the address links will use.

    ``CANVASCRAFT_SERVED_URL`` is set for this process, so the scheduler and every job process it
    starts build alert links on the same address, and the address links use is written into the
    workspace, so a ``canvascraft link`` in another shell prints it too. ``CANVASCRAFT_STUDIO_URL``
    (an explicit address, e.g. behind a proxy) still wins everywhere."""
    os.environ[SERVED_URL_ENV] = studio_url_for(port, address)
    get_settings.cache_clear()
    settings = get_settings()
    settings.workspace.mkdir(parents=True, exist_ok=True)
    record = settings.workspace / STUDIO_URL_FILE
    temporary = record.with_name(f".{STUDIO_URL_FILE}.{os.getpid()}")
    temporary.write_text(settings.link_base + "\n", encoding="utf-8")
    temporary.replace(record)
    return settings.link_base


def settings_problems(error: ValidationError) -> str:
    """``CANVASCRAFT_MAX_UPLOAD_MB='-3': Input should be greater than or equal to 1`` for each problem."""
    prefix = Settings.model_config.get("env_prefix", "")
    problems = []
    for problem in error.errors():
        name = ".".join(str(part) for part in problem["loc"])
        shown = os.environ.get(f"{prefix}{name}".upper(), problem.get("input"))
        problems.append(f"{prefix}{name}".upper() + f"={shown!r}: {problem['msg']}")
    return "bad setting: " + "; ".join(problems) + " (fix or unset the variable)"
