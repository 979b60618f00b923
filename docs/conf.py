"""Sphinx configuration of the skl_sparse_ae documentation.

Build (from the repository root)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The layout follows scikit-learn-contrib's project-template ``doc/conf.py``:
autodoc + autosummary for the API reference, numpydoc for the docstrings,
sphinx-gallery for the examples in ``docs/examples`` and intersphinx links to
scikit-learn, NumPy, SciPy, matplotlib and Python, with the pydata theme.

Offline math
------------
The equations are typeset in the browser by MathJax. Sphinx loads it from a
CDN by default, so a page opened without a network showed raw LaTeX. The
``sphinx-mathjax-offline`` extension (docs extra) bundles MathJax 3 with the
build (``_build/html/_static/mathjax``, about 24 MB) and points
``mathjax_path`` at it: the pages read the same with and without a network.

Offline builds
--------------
Intersphinx downloads each project's ``objects.inv`` at build time; when it
cannot, Sphinx logs a warning that ``-W`` turns into a failed build (Sphinx
gives that warning no type, so ``suppress_warnings`` cannot silence it). The
environment variable ``SKL_SPARSE_AE_DOCS_OFFLINE`` decides what to do:

- unset or ``auto`` (default): each inventory is probed with one short HTTP
  request (through the usual proxy variables); unreachable ones are left out
  of ``intersphinx_mapping``, so an offline build passes ``-W`` with plain-text
  references to the external names instead of links.
- ``1`` (or ``true``/``yes``/``on``): no intersphinx at all, no network.
- ``0`` (or ``false``/``no``/``off``): always use every inventory; a failed
  download then fails a ``-W`` build (use it for a release build).
"""

import os
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from sphinx.util import logging
from threadpoolctl import threadpool_limits

# Also loads NumPy, SciPy and scikit-learn, and so their BLAS libraries, which
# threadpoolctl must see loaded to limit them (below).
import skl_sparse_ae

logger = logging.getLogger(__name__)

# -- Project information -----------------------------------------------------

project = "skl_sparse_ae"
author = "skl_sparse_ae developers"
copyright = f"{date.today().year}, {author}"
release = skl_sparse_ae.__version__
version = ".".join(release.split(".")[:2])

# -- General configuration ---------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    # ships MathJax 3 and copies it into _static/mathjax, so the equations
    # render without a network (sets mathjax_path; see "Offline math" below)
    "sphinx-mathjax-offline",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "_templates",
    "Thumbs.db",
    ".DS_Store",
]
root_doc = "index"
default_role = "literal"

# autosummary writes one page per public object into generated/.
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"

# numpydoc renders the docstrings. A class page (_templates/class.rst) shows
# the methods defined in this package only (see _skip_foreign_members below):
# the methods inherited from scikit-learn's mixins are documented by
# scikit-learn, and their docstrings point to labels of its user guide that
# an offline build cannot resolve.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- Intersphinx (see "Offline builds" above) --------------------------------

_INTERSPHINX = {
    "python": ("https://docs.python.org/3/", None),
    "numpy": ("https://numpy.org/doc/stable/", None),
    "scipy": ("https://docs.scipy.org/doc/scipy/", None),
    "sklearn": ("https://scikit-learn.org/stable/", None),
    "matplotlib": ("https://matplotlib.org/stable/", None),
}
intersphinx_timeout = 10
_PROBE_TIMEOUT = 5


def _reachable(url):
    """Whether ``url + "objects.inv"`` answers an HTTP request in time."""
    request = urllib.request.Request(url + "objects.inv", method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=_PROBE_TIMEOUT):
            return True
    except urllib.error.HTTPError as exc:
        # The server answered; only a missing inventory counts as a failure.
        return exc.code != 404
    except (OSError, ValueError):  # URLError, timeouts, DNS failures
        return False


def _intersphinx_mapping(mode):
    if mode in {"1", "true", "yes", "on"}:
        return {}, "intersphinx disabled (SKL_SPARSE_AE_DOCS_OFFLINE=1)"
    if mode in {"0", "false", "no", "off"}:
        return dict(_INTERSPHINX), None
    with ThreadPoolExecutor(max_workers=len(_INTERSPHINX)) as pool:
        reachable = dict(
            zip(
                _INTERSPHINX,
                pool.map(_reachable, [u for u, _ in _INTERSPHINX.values()]),
            )
        )
    mapping = {name: target for name, target in _INTERSPHINX.items() if reachable[name]}
    missing = sorted(set(_INTERSPHINX) - set(mapping))
    note = None
    if missing:
        note = (
            "intersphinx inventories unreachable, references to them stay "
            f"unlinked: {', '.join(missing)} (set SKL_SPARSE_AE_DOCS_OFFLINE=0 "
            "to require them, =1 to skip the probe)"
        )
    return mapping, note


intersphinx_mapping, _intersphinx_note = _intersphinx_mapping(
    os.environ.get("SKL_SPARSE_AE_DOCS_OFFLINE", "auto").strip().lower()
)

# -- sphinx-gallery ----------------------------------------------------------

# The examples fit small models on the 8x8 digits: multithreaded BLAS does not
# speed them up, and on a busy machine (CI running the tests next to the docs)
# OpenBLAS threads waiting for each other made the same fits up to 100x
# slower. One BLAS thread keeps the gallery at a few seconds per example.
threadpool_limits(limits=1, user_api="blas")

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("skl_sparse_ae",),
    "backreferences_dir": os.path.join("generated", "backreferences"),
    "inspect_global_variables": False,
    "remove_config_comments": True,
    "download_all_examples": False,
}

# -- HTML output -------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"skl_sparse_ae {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_sidebars = {"index": [], "user_guide": [], "performance": [], "scaling": []}
html_show_sourcelink = True


def _log_intersphinx_note(app):
    if _intersphinx_note:
        logger.info(_intersphinx_note)


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Document only the methods defined in this package.

    scikit-learn attaches its metadata-routing methods (``set_score_request``,
    ``set_partial_fit_request``, ...) to each estimator class, so autodoc
    would list them as the class's own members; they are scikit-learn's, like
    the mixins' methods, and documented there.
    """
    if what == "class" and callable(obj):
        module = getattr(obj, "__module__", None) or ""
        if not module.startswith("skl_sparse_ae"):
            return True
    return None


def setup(app):
    app.connect("builder-inited", _log_intersphinx_note)
    app.connect("autodoc-skip-member", _skip_foreign_members)
