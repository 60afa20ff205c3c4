"""An installed wheel carries its templates, static files and migrations, and finds them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_and_finds_templates(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "-w", str(tmp_path / "dist"), str(ROOT)],
                   check=True, capture_output=True)
    [wheel] = list((tmp_path / "dist").glob("*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("crm/templates/crm/base.html", "crm/templates/crm/contacts/detail.html",
                   "crm/static/crm.css", "crm/migrations/env.py",
                   "crm/migrations/versions/crm0001_initial.py", "campaigns/__init__.py"):
        assert needed in names, needed
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
                    str(target), str(wheel)], check=True, capture_output=True)
    probe = ("import crm.templating, pathlib; folder = crm.templating.template_folder(); "
             "assert pathlib.Path(folder, 'crm', 'base.html').is_file(); print(folder)")
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                         text=True, cwd=tmp_path, env={"PYTHONPATH": str(target)}).stdout
    assert out.strip() == str(target / "crm" / "templates")
