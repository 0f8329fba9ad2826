"""Tiny wheels made by the tests themselves: dependencies no index holds, installed offline."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path


def make_wheel(directory: Path, name: str, version: str, files: dict[str, str]) -> Path:
    """A pure-Python wheel of ``name`` ``version`` holding ``files`` (archive path → source)."""
    directory.mkdir(parents=True, exist_ok=True)
    dist = f"{name.replace('-', '_')}-{version}"
    path = directory / f"{dist}-py3-none-any.whl"
    records: list[str] = []
    with zipfile.ZipFile(path, "w") as archive:

        def add(arcname: str, data: bytes) -> None:
            # A fixed date: the same wheel is the same bytes (environment keys hash them).
            archive.writestr(zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0)), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            records.append(f"{arcname},sha256={digest},{len(data)}")

        for arcname, text in files.items():
            add(arcname, text.encode())
        add(f"{dist}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode())
        wheel = "Wheel-Version: 1.0\nGenerator: shipyard-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        add(f"{dist}.dist-info/WHEEL", wheel.encode())
        records.append(f"{dist}.dist-info/RECORD,,")
        record = zipfile.ZipInfo(f"{dist}.dist-info/RECORD", date_time=(2020, 1, 1, 0, 0, 0))
        archive.writestr(record, "\n".join(records) + "\n")
    return path


def repository_wheels(directory: Path) -> None:
    """What the test repositories depend on: ``tinydep`` (no index has it; a ``tinydep`` command), a ``pydantic`` 1.x
    stand-in (Shipyard itself runs pydantic 2) and a ``pytest`` 1.0 that would break the gate."""
    tinydep = {
        "tinydep.py": "def shout(text):\n    return text.upper() + '!'\n\n\ndef main():\n    print(shout('cli'))\n",
        "tinydep-1.0.dist-info/entry_points.txt": "[console_scripts]\ntinydep = tinydep:main\n",
    }
    make_wheel(directory, "tinydep", "1.0", tinydep)
    make_wheel(directory, "pydantic", "1.10.99", {"pydantic/__init__.py": "VERSION = '1.10.99'\n"})
    make_wheel(directory, "pytest", "1.0", {"pytest.py": "raise SystemExit('the repository replaced pytest')\n"})
