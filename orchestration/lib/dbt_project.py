"""The dbt project as Dagster sees it, with its manifest kept under ``OMNI_DATA_DIR``.

The dbt engineer works in ``dbt_project/target``; orchestration keeps its own target folder so
that parsing or building from Dagster never overwrites their artifacts (and vice versa).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
from functools import cache
from pathlib import Path

from dagster_dbt import DbtProject

from ingestion import paths

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = Path(os.environ.get("OMNI_DBT_PROJECT_DIR", REPO_ROOT / "dbt_project"))
_SOURCE_SUFFIXES = {".sql", ".yml", ".yaml", ".csv", ".md"}
_GENERATED_DIRS = {"target", "logs", "dbt_packages"}


def dbt_executable() -> str:
    """dbt installed beside this Python (the venv), even when the venv is not on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else shutil.which("dbt") or "dbt"


def _put_dbt_on_path() -> None:
    # dagster-dbt's manifest preparer looks dbt up on PATH; `.venv/bin/omni` may run without
    # the venv activated.
    folder = str(Path(dbt_executable()).parent)
    if shutil.which("dbt") is None and folder not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = folder + os.pathsep + os.environ.get("PATH", "")


def dbt_target_dir() -> Path:
    return paths.data_dir() / "dbt_target"


def project_fingerprint(project_dir: Path) -> str:
    """Hash of every file dbt parses, so any edit (or a checkout) triggers a fresh parse."""
    digest = hashlib.sha256()
    for path in sorted(project_dir.rglob("*")):
        relative = path.relative_to(project_dir)
        if path.suffix in _SOURCE_SUFFIXES and relative.parts[0] not in _GENERATED_DIRS:
            digest.update(str(relative).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _fingerprint_file(project: DbtProject) -> Path:
    return project.manifest_path.with_name("omni_manifest_fingerprint.txt")


def manifest_is_stale(project: DbtProject) -> bool:
    recorded = _fingerprint_file(project)
    if not project.manifest_path.exists() or not recorded.exists():
        return True
    return recorded.read_text().strip() != project_fingerprint(project.project_dir)


@cache
def omni_dbt_project() -> DbtProject:
    """The dbt project with a manifest that matches the files on disk.

    ``dbt parse`` runs when the manifest is missing or older than any model, macro or YAML
    file, so ``dagster definitions validate`` works from a fresh clone and an edited model is
    never orchestrated from a stale manifest.
    """
    # profiles.yml reads OMNI_DATA_DIR through env_var(); make the default explicit for dbt.
    os.environ.setdefault("OMNI_DATA_DIR", str(paths.data_dir()))
    _put_dbt_on_path()
    target = dbt_target_dir()
    target.mkdir(parents=True, exist_ok=True)
    project = DbtProject(
        project_dir=DBT_PROJECT_DIR, target_path=target, profiles_dir=DBT_PROJECT_DIR
    )
    if manifest_is_stale(project):
        log.info("Parsing the dbt project into %s (manifest missing or stale)", target)
        fingerprint = project_fingerprint(project.project_dir)
        project.preparer.prepare(project)
        _fingerprint_file(project).write_text(fingerprint)
    else:
        project.prepare_if_dev()
    return project
