"""The images docker-compose.yml runs, built with no registry when missing or built from an older
recipe: ``orchestrator/deploy/prepare.sh`` fills a build context, the images are built from it with
no network, and each carries ``shipyard.recipe`` (``sandboxes.images``), so an unchanged recipe is
never built again."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import docker
import yaml

from sandboxes.images import BASE_IMAGE, build_if_changed, ensure_base_image, image_recipe, recipe_hash

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DEPLOY = ROOT / "orchestrator" / "deploy"
CONTEXT = "orchestrator/deploy"
IMAGE_TAG = "test"
"""``SHIPYARD_IMAGE_TAG`` for the test: its images never replace those of a deployment on this host."""
SOURCE = ("orchestrator", "agents", "sandboxes", "workflows")
"""Shipyard's own code: what the control-plane image installs (with pyproject.toml)."""


@dataclass(frozen=True)
class ComposeImage:
    tag: str
    dockerfile: str

    @property
    def part(self) -> str:
        """What prepare.sh supplies to this image: Shipyard's wheelhouse, or Debian packages."""
        return "wheels" if "/opt/shipyard" in (DEPLOY / self.dockerfile).read_text() else "debs"


def compose_images() -> list[ComposeImage]:
    """The images the compose file builds (worker and web share one), tagged for the test."""
    spec = yaml.safe_load(COMPOSE_FILE.read_text())
    images: dict[str, ComposeImage] = {}
    for name, service in spec["services"].items():
        build = service.get("build")
        if build is None:
            continue
        if build.get("context") != CONTEXT or "image" not in service:
            raise AssertionError(f"docker-compose.yml: services.{name}: expected build.context {CONTEXT} and an image")
        tag = service["image"].replace("${SHIPYARD_IMAGE_TAG:-local}", IMAGE_TAG)
        images[tag] = ComposeImage(tag, build["dockerfile"])
    return list(images.values())


def _files(paths: Iterable[Path]) -> list[Path]:
    found = []
    for path in paths:
        for f in sorted([path] if path.is_file() else path.rglob("*")):
            parts = f.relative_to(ROOT).parts
            if f.is_file() and "__pycache__" not in parts and parts[:3] != ("orchestrator", "deploy", "build"):
                found.append(f)
    return found


def _digest(files: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for f in files:
        digest.update(recipe_hash(str(f.relative_to(ROOT)), f.read_bytes()).encode())
    return digest.hexdigest()


def recipe(image: ComposeImage, base_id: str) -> str:
    """The image's Dockerfile, the files it copies from the deploy folder, prepare.sh, the base;
    for the control-plane image also pyproject.toml and Shipyard's code."""
    dockerfile = DEPLOY / image.dockerfile
    copied = [
        DEPLOY / line.split()[1]
        for line in dockerfile.read_text().splitlines()
        if line.startswith("COPY ") and not line.split()[1].startswith("build/")
    ]
    inputs = [dockerfile, DEPLOY / "prepare.sh", *copied]
    if image.part == "wheels":
        inputs += [ROOT / "pyproject.toml", *(ROOT / name for name in SOURCE)]
    return recipe_hash(base_id, _digest(_files(inputs)))


def ensure_compose_images(workdir: Path, report: Callable[[str], None] = print) -> list[str]:
    """Build the compose file's images that are missing or stale; returns the tags built."""
    client = docker.from_env(timeout=900)
    ensure_base_image(client, BASE_IMAGE, report=report)
    base_id = client.api.inspect_image(BASE_IMAGE)["Id"]
    recipes = {image: recipe(image, base_id) for image in compose_images()}
    stale = [(image, r) for image, r in recipes.items() if image_recipe(client, image.tag) != r]
    if not stale:
        report("compose images are up to date")
        return []
    context = workdir / "context"
    shutil.copytree(DEPLOY, context, ignore=shutil.ignore_patterns("build"))
    parts = sorted({image.part for image, _ in stale})
    report(f"preparing {', '.join(parts)} for {', '.join(image.tag for image, _ in stale)}")
    proc = subprocess.run(
        ["bash", str(DEPLOY / "prepare.sh"), str(context / "build"), *parts],
        env={**os.environ, "PY": sys.executable, "SHIPYARD_BASE_IMAGE": BASE_IMAGE},
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        output = f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        raise AssertionError(f"orchestrator/deploy/prepare.sh failed (exit {proc.returncode}):\n{output}")
    for image, r in stale:
        before = _image_id(client, image.tag)
        build_if_changed(
            client, context, image.tag, r, dockerfile=image.dockerfile, buildargs={"BASE": BASE_IMAGE}, report=report
        )
        if before is not None and before != _image_id(client, image.tag):
            _remove_superseded(client, before)
    return [image.tag for image, _ in stale]


def _image_id(client: docker.DockerClient, tag: str) -> str | None:
    try:
        return client.api.inspect_image(tag)["Id"]
    except docker.errors.ImageNotFound:
        return None


def _remove_superseded(client: docker.DockerClient, image_id: str) -> None:
    """The image a rebuild replaced, now untagged: each code change would otherwise leave one behind.
    Kept while a container uses it or another image builds on it."""
    try:
        client.api.remove_image(image_id)
    except docker.errors.APIError:
        pass
