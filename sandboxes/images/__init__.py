"""Sandbox images: building the default Python image offline, cached by a recipe hash.

``python -m sandboxes.images ensure`` builds ``shipyard-base:bookworm`` (``build-base.sh``,
debootstrap) when missing, then ``shipyard-sandbox:latest`` from ``Dockerfile`` when missing
or built from an older recipe. Every image built here carries the label
``shipyard.recipe=<sha256 of the recipe>``; a build is skipped when the label matches.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import docker
from docker.errors import BuildError, DockerException, ImageNotFound

from sandboxes.base import SandboxError

IMAGES_DIR = Path(__file__).resolve().parent
BASE_IMAGE = "shipyard-base:bookworm"
SANDBOX_IMAGE = "shipyard-sandbox:latest"
RECIPE_LABEL = "shipyard.recipe"
SANDBOX_WHEELS = ("pytest", "coverage", "pytest-cov")
"""Installed into the default sandbox image."""

Report = Callable[[str], None]


def recipe_hash(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()[:32]


def image_recipe(client: docker.DockerClient, tag: str) -> str | None:
    """The recipe label of a local image; None when the image is missing."""
    try:
        labels = client.api.inspect_image(tag)["Config"].get("Labels") or {}
    except ImageNotFound:
        return None
    return labels.get(RECIPE_LABEL, "")


def build_if_changed(
    client: docker.DockerClient,
    context: Path,
    tag: str,
    recipe: str,
    *,
    dockerfile: str = "Dockerfile",
    buildargs: Mapping[str, str] | None = None,
    report: Report = print,
) -> bool:
    """Build ``tag`` from ``context`` unless it already carries ``recipe``; True when built."""
    if image_recipe(client, tag) == recipe:
        report(f"image {tag} is up to date (recipe {recipe})")
        return False
    report(f"building image {tag} (recipe {recipe})…")
    try:
        client.images.build(
            path=str(context),
            dockerfile=dockerfile,
            tag=tag,
            rm=True,
            forcerm=True,
            buildargs=dict(buildargs or {}),
            labels={RECIPE_LABEL: recipe},
            network_mode="none",
        )
    except BuildError as exc:
        tail = "".join(str(step.get("stream", step.get("error", ""))) for step in list(exc.build_log)[-8:])
        raise SandboxError(f"building image {tag} failed: {exc.msg}\n{tail.strip()}") from None
    except DockerException as exc:
        raise SandboxError(f"building image {tag} failed: {exc}") from None
    report(f"built image {tag}")
    return True


def ensure_base_image(client: docker.DockerClient, tag: str = BASE_IMAGE, *, report: Report = print) -> None:
    if image_recipe(client, tag) is not None:
        report(f"base image {tag} is present")
        return
    report(f"base image {tag} is missing; building it with build-base.sh")
    proc = subprocess.run(["bash", str(IMAGES_DIR / "build-base.sh"), tag])
    if proc.returncode != 0:
        raise SandboxError(f"build-base.sh failed for {tag} (exit {proc.returncode}); see its output above")


def _base_python_version(client: docker.DockerClient, base: str) -> str:
    try:
        out = client.containers.run(
            base,
            ["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            remove=True,
            network_mode="none",
        )
    except DockerException as exc:
        raise SandboxError(f"could not run python3 in base image {base}: {exc}") from None
    return out.decode().strip()


def download_wheels(dest: Path, python_version: str, packages: tuple[str, ...] = SANDBOX_WHEELS) -> None:
    """Wheels for ``python_version`` on this platform, fetched by the host's pip (which has the CA bundle)."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--only-binary=:all:",
        "--python-version",
        python_version,
        "--dest",
        str(dest),
        *packages,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SandboxError(
            f"pip download of {', '.join(packages)} for Python {python_version} failed: {proc.stderr.strip()[-800:]}"
        )


def ensure_sandbox_image(
    client: docker.DockerClient, tag: str = SANDBOX_IMAGE, base: str = BASE_IMAGE, *, report: Report = print
) -> bool:
    """Build the default Python sandbox image when missing or stale; True when built."""
    dockerfile = (IMAGES_DIR / "Dockerfile").read_text()
    base_id = client.api.inspect_image(base)["Id"]
    recipe = recipe_hash(dockerfile, base_id, " ".join(SANDBOX_WHEELS))
    if image_recipe(client, tag) == recipe:
        report(f"image {tag} is up to date (recipe {recipe})")
        return False
    with tempfile.TemporaryDirectory(prefix="shipyard-image-") as ctx:
        context = Path(ctx)
        shutil.copy(IMAGES_DIR / "Dockerfile", context / "Dockerfile")
        version = _base_python_version(client, base)
        report(f"downloading wheels ({', '.join(SANDBOX_WHEELS)}) for Python {version}")
        download_wheels(context / "wheels", version)
        return build_if_changed(client, context, tag, recipe, buildargs={"BASE": base}, report=report)


def ensure_images(*, base: str = BASE_IMAGE, tag: str = SANDBOX_IMAGE, report: Report = print) -> None:
    """The ``ensure`` command: base image, then the sandbox image."""
    try:
        client = docker.from_env(timeout=600)
    except DockerException as exc:
        raise SandboxError(f"Docker engine unreachable (check DOCKER_HOST): {exc}") from None
    if base == BASE_IMAGE:
        ensure_base_image(client, base, report=report)
    ensure_sandbox_image(client, tag, base, report=report)
