"""``python -m sandboxes.images ensure [--base IMAGE] [--tag IMAGE]``: build missing sandbox images."""

from __future__ import annotations

import argparse
import sys

from sandboxes.base import SandboxError
from sandboxes.images import BASE_IMAGE, SANDBOX_IMAGE, ensure_images


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandboxes.images")
    sub = parser.add_subparsers(dest="command", required=True)
    ensure = sub.add_parser("ensure", help="build the base and sandbox images when missing or stale")
    ensure.add_argument("--base", default=BASE_IMAGE, help="base image, e.g. python:3.12-slim (default: %(default)s)")
    ensure.add_argument("--tag", default=SANDBOX_IMAGE, help="sandbox image tag (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        ensure_images(base=args.base, tag=args.tag)
    except SandboxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
