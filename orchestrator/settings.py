"""Deployment settings: environment variables (``SHIPYARD_*``) and ``shipyard.toml``.

Loaded once at the edge (CLI, worker, web) and passed down; nothing deeper reads the
environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from workflows.job_dirs import JobDirs


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHIPYARD_", extra="forbid", toml_file="shipyard.toml")

    data_dir: Path = Field(default_factory=lambda: Path.home() / ".shipyard")
    """Where the embedded default keeps everything: database, queue, checkpoints, repos, jobs."""
    database_url: str | None = None
    """SQLAlchemy URL; default ``sqlite:///<data_dir>/shipyard.db``. Postgres: ``postgresql+psycopg://…``."""
    broker_url: str | None = None
    """Celery broker; default: the embedded filesystem transport under ``data_dir`` (no server).
    Production: ``redis://host:6379/0``."""
    sandbox_backend: Literal["auto", "docker", "local"] = "auto"
    """``auto`` uses Docker when an engine answers, else the local backend (and says so on every job)."""
    allow_unisolated: bool = False
    """Let the local backend run jobs as plain host processes (no isolation at all) when
    bubblewrap is not usable; refused otherwise. Development only."""
    sandbox_image: str = "shipyard-sandbox:latest"
    """Default sandbox image when a repository names none."""
    sandbox_pool_size: int = Field(default=0, ge=0)
    """Pre-started containers kept warm per image (Docker backend)."""
    lease_seconds: int = Field(default=30, ge=10)
    """A running job's lease; a worker renews it while working. An expired lease means the worker died."""
    retain_job_dirs_days: float = Field(default=14.0, ge=0)
    """Days a finished job's working directory (its clone and attempts' commits under ``data_dir/jobs``)
    is kept after the job finished; then the workers' sweep (or ``shipyard jobs gc``) removes it. Its
    diffs are copied into the store first; events, gate reports, cost and the pull request stay. The
    job's LangGraph checkpoints (only a job that is not final resumes from them) go at the same time.
    0 removes both at the next sweep."""
    repo_max_running_jobs: int | None = Field(default=None, ge=1)
    """Jobs of one repository worked at once across all workers; None: no cap. A repository's own cap
    (``queue.max_running_jobs`` in its ``.shipyard.yml``, and above that ``shipyard jobs cap``) wins
    over it. Whatever the caps, a free worker takes the highest-priority
    job of the repository with the fewest jobs running, oldest first."""
    models_file: Path | None = None
    """TOML/YAML model catalogue (names, providers, prices, tiers); default: the built-in catalogue."""
    secrets_file: Path | None = None
    """File with provider keys (``OPENAI_API_KEY=…`` lines); keys never appear in logs or events."""
    job_budget_usd: float = Field(default=2.0, ge=0)
    """Spend limit per job before it pauses for a human (``approve +$X or stop``)."""
    repo_daily_budget_usd: float = Field(default=20.0, ge=0)
    """Spend limit of all jobs of one repository per calendar day (UTC)."""
    monthly_budget_usd: float = Field(default=500.0, ge=0)
    """Spend limit of the whole deployment per calendar month (UTC)."""
    attempt_time_limit_s: float = Field(default=3600.0, gt=0)
    """Wall-clock limit of one coding attempt (the agent gets a wrap-up warning before it)."""
    provider_tries: int = Field(default=4, ge=1, le=20)
    """Calls per model request (first call plus retries with backoff, honouring ``Retry-After``)
    before the job pauses as ``awaiting_provider``."""
    provider_probe_interval_s: float = Field(default=60.0, gt=0)
    """How often a worker asks a model whose provider stopped answering whether it answers again;
    when it does, the paused jobs resume by themselves."""
    webhook_secret: SecretStr | None = None
    """HMAC secret for GitHub webhooks."""
    web_host: str = "127.0.0.1"
    """Address `shipyard web` binds."""
    web_port: int = 8700
    """Port `shipyard web` listens on."""
    web_auth: Literal["on", "off"] = "on"
    """``on``: every page and API call needs a login or an API token. ``off`` (everyone is an
    admin) is for development on a loopback address only: `shipyard web` refuses any other."""
    web_allowed_hosts: str = "localhost,127.0.0.1,[::1]"
    """Comma-separated host names the web app answers to (the ``Host`` header); any other gets
    400, which defeats DNS rebinding. Add the name people use to reach it (``shipyard.example.com``)."""
    web_admin_user: str = "admin"
    """Name of the admin account `shipyard web` creates at start when it does not exist yet
    and an admin password is given (``web_admin_password`` or ``web_admin_password_file``)."""
    web_admin_password: SecretStr | None = None
    """Password of that first admin account (at least 10 characters)."""
    web_admin_password_file: Path | None = None
    """File holding that password (e.g. a Docker secret under ``/run/secrets``)."""
    web_session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    """How long a browser login lasts."""
    web_github_client_id: str | None = None
    """Client id of a GitHub OAuth app: adds "Log in with GitHub" for users linked with
    ``shipyard users add NAME --github LOGIN`` (callback URL: ``<site>/login/github/callback``)."""
    web_github_client_secret: SecretStr | None = None
    """That OAuth app's client secret."""
    web_github_url: str = "https://github.com"
    """Where GitHub's OAuth pages are (GitHub Enterprise: its own address)."""
    web_github_api_url: str = "https://api.github.com"
    """Where the logged-in GitHub user is read (``/user``)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def allowed_hosts(self) -> list[str]:
        return [h.strip() for h in self.web_allowed_hosts.split(",") if h.strip()]

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'shipyard.db'}"

    @property
    def queue_dir(self) -> Path:
        """The embedded broker's message folders (used when no ``broker_url`` is set)."""
        return self.data_dir / "queue"

    @property
    def checkpoint_path(self) -> Path:
        """The jobs' LangGraph checkpoints (SQLite), from which an interrupted job resumes."""
        return self.data_dir / "checkpoints.db"

    @property
    def job_dirs(self) -> JobDirs:
        """Each job's working directory (its clone and attempts' commits), kept ``retain_job_dirs_days``."""
        return JobDirs(self.data_dir / "jobs")

    @property
    def cache_dir(self) -> Path:
        """Shared between jobs: gate baselines per base commit, clones read for reverts."""
        return self.data_dir / "cache"

    def ensure_dirs(self) -> None:
        for d in (self.data_dir, self.queue_dir, self.job_dirs.root, self.cache_dir):
            d.mkdir(parents=True, exist_ok=True)
