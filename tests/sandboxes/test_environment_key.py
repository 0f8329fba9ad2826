"""What an environment's key covers: a change to any of it makes a new environment, nothing else does."""

from __future__ import annotations

from pathlib import Path

from sandboxes.environments.recipe import environment_key


def tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_the_key_follows_dependency_files_named_paths_and_an_in_tree_build_backend(tmp_path):
    files = {
        "pyproject.toml": '[build-system]\nbackend-path = ["_build"]\nbuild-backend = "backend"\n',
        "_build/backend.py": "# builds\n",
        "ci/reqs.txt": "attrs\n",
        "wheels/a-1-py3-none-any.whl": "zip",
        "src/pkg/__init__.py": "X = 1\n",
        "tests/test_pkg.py": "",
    }
    setup = ["python -m pip install -r ci/reqs.txt --find-links=wheels -e ."]
    key, covered = environment_key("base", setup, tree(tmp_path / "a", files))
    assert covered == ["_build/backend.py", "ci/reqs.txt", "pyproject.toml", "wheels/a-1-py3-none-any.whl"]
    # Source and tests are not part of it: the install is editable.
    assert environment_key("base", setup, tree(tmp_path / "b", {**files, "src/pkg/__init__.py": "X = 2\n"}))[0] == key
    for rel in covered:
        changed = tree(tmp_path / rel.replace("/", "_"), {**files, rel: files[rel] + "# changed\n"})
        assert environment_key("base", setup, changed)[0] != key, rel
    assert environment_key("another image", setup, tree(tmp_path / "c", files))[0] != key
    assert environment_key("base", [*setup, "true"], tree(tmp_path / "d", files))[0] != key


def test_a_non_editable_install_of_the_repository_puts_the_whole_tree_in_the_key(tmp_path):
    files = {"pyproject.toml": "[project]\nname = 'pkg'\nversion = '1'\n", "pkg/__init__.py": "X = 1\n"}
    setup = ["python -m pip install '.[test]'"]
    key, covered = environment_key("base", setup, tree(tmp_path / "a", files))
    assert "pkg/__init__.py" in covered
    assert environment_key("base", setup, tree(tmp_path / "b", {**files, "pkg/__init__.py": "X = 2\n"}))[0] != key
