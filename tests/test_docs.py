"""The README's config reference is generated from the schema and must be up to date."""
from __future__ import annotations

from conftest import REPO

from synthgen.config.reference import END, START, render_reference


def test_readme_config_reference_is_current():
    text = (REPO / "README.md").read_text()
    section = text.split(START, 1)[1].split(END, 1)[0]
    assert section.strip() == render_reference().strip(), \
        "README config reference is stale: run python -m synthgen.config.reference --write README.md"


def test_reference_lists_every_key_with_a_meaning():
    rows = [r for r in render_reference().splitlines()[2:]]
    keys = [r.split("|")[1].strip().strip("`") for r in rows]
    for k in ("seed", "frames", "views_per_scene", "camera.width", "camera.height", "sensor",
              "objects.groups.<name>.assets", "humans.model_dir", "camera.rig"):
        assert k in keys, k
    assert all(r.split("|")[4].strip() for r in rows), [r for r in rows if not r.split("|")[4].strip()]
