"""Sphinx configuration of the orkes documentation: ``sphinx-build docs docs/_build/html``."""

from __future__ import annotations

import sys
from pathlib import Path

# Document the source tree, not whatever orkes happens to be installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import orkes

project = "orkes"
author = "The orkes developers"
copyright = "2026, The orkes developers"
release = orkes.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
]

root_doc = "index"
exclude_patterns = ["_build"]
pygments_style = "sphinx"

# autodoc: members in the order the source defines them; types in the signature.
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"show-inheritance": True}

# napoleon: the docstrings are Google style.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

intersphinx_mapping = {"python": ("https://docs.python.org/3", None)}

html_theme = "alabaster"
html_theme_options = {
    "description": "Small, fast, fully typed orchestration of LLM applications as graphs.",
    "fixed_sidebar": True,
}
html_static_path: list[str] = []
