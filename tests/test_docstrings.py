"""numpydoc validation of every public docstring of the package.

In the spirit of imbalanced-learn's ``maint_tools/test_docstring.py``: each
public class, each public method defined in this package (not those inherited
from scikit-learn's mixins, which scikit-learn documents) and each public
function of :mod:`skl_sparse_ae.datasets`, :mod:`skl_sparse_ae.interop`,
:mod:`skl_sparse_ae.metrics` and
:mod:`skl_sparse_ae.plotting` is checked with :func:`numpydoc.validate.validate`,
one test per object.
"""

import inspect

import numpydoc.validate
import pytest

import skl_sparse_ae
from skl_sparse_ae import datasets, interop, metrics, plotting

# numpydoc checks that are not enforced, and why. Every other check is: among
# them the summary (SS01-SS06), the parameters (PR01-PR10: every parameter
# documented, with a type and a description, and no unknown one) and the
# returns (RT01, RT03-RT05).
IGNORED_CHECKS = {
    # The summary starts on the line of the opening quotes (PEP 257, and the
    # style of scikit-learn and of this package).
    "GL01",
    # An extended summary is welcome but not required: a short method such as
    # ``predict`` is fully described by its summary and sections.
    "ES01",
    # Single return values are named, as in scikit-learn ("self : object",
    # "X_new : ndarray of shape ..."), which RT02 forbids.
    "RT02",
    # A "See Also" section where it helps, not on every method.
    "SA01",
}

# Methods have no "Examples" section: the class's examples show them in use.
# Classes and functions must have one (EX01).
IGNORED_CHECKS_METHODS = {"EX01"}

PACKAGE = "skl_sparse_ae"


def _defined_here(obj):
    module = getattr(obj, "__module__", None) or ""
    return module == PACKAGE or module.startswith(PACKAGE + ".")


def _public_classes():
    """Import paths of the public classes, once each (``SparseAE`` is an alias)."""
    seen, paths = set(), []
    for name in sorted(skl_sparse_ae.__all__):
        obj = getattr(skl_sparse_ae, name)
        if inspect.isclass(obj) and obj not in seen:
            seen.add(obj)
            # the class's own name, not an alias of it
            paths.append((f"{PACKAGE}.{obj.__name__}", obj))
    return paths


def _public_methods(class_path, cls):
    """Public methods of ``cls`` defined in this package (inherited or not)."""
    paths = []
    for name in sorted(dir(cls)):
        if name.startswith("_"):
            continue
        # partial_fit is an available_if descriptor: on the class it gives
        # the wrapped function.
        member = inspect.getattr_static(cls, name)
        obj = getattr(cls, name, None)
        if isinstance(member, property) or not callable(obj):
            continue
        if _defined_here(obj):
            paths.append(f"{class_path}.{name}")
    return paths


def _public_functions(module):
    return [
        f"{module.__name__}.{name}"
        for name in sorted(module.__all__)
        if inspect.isfunction(getattr(module, name))
    ]


CLASSES = [path for path, _ in _public_classes()]
METHODS = [
    method for path, cls in _public_classes() for method in _public_methods(path, cls)
]
FUNCTIONS = (
    _public_functions(datasets)
    + _public_functions(interop)
    + _public_functions(metrics)
    + _public_functions(plotting)
)


def test_public_objects_are_collected():
    # Guards against the collection silently shrinking (renamed modules,
    # changed decorators, ...).
    assert CLASSES == [
        "skl_sparse_ae.SparseAutoencoderTransformer",
        "skl_sparse_ae.StackedSparseAEClassifier",
        "skl_sparse_ae.TopKSparseAutoencoder",
    ]
    for method in [
        "fit",
        "partial_fit",
        "transform",
        "inverse_transform",
        "score",
        "score_samples",
    ]:
        assert f"skl_sparse_ae.SparseAutoencoderTransformer.{method}" in METHODS
    for method in [
        "fit",
        "partial_fit",
        "predict",
        "predict_proba",
        "predict_log_proba",
        "decision_function",
        "transform",
    ]:
        assert f"skl_sparse_ae.StackedSparseAEClassifier.{method}" in METHODS
    for method in ["fit", "partial_fit", "transform", "inverse_transform", "score"]:
        assert f"skl_sparse_ae.TopKSparseAutoencoder.{method}" in METHODS
    # inherited from scikit-learn, hence not checked here
    assert "skl_sparse_ae.SparseAutoencoderTransformer.fit_transform" not in METHODS
    assert "skl_sparse_ae.StackedSparseAEClassifier.score" not in METHODS
    assert "skl_sparse_ae.StackedSparseAEClassifier.set_score_request" not in METHODS
    assert set(FUNCTIONS) == {
        "skl_sparse_ae.datasets.load_mnist",
        "skl_sparse_ae.datasets.write_idx",
        "skl_sparse_ae.interop.load_saelens",
        "skl_sparse_ae.interop.save_saelens",
        "skl_sparse_ae.metrics.cosine_similarity",
        "skl_sparse_ae.metrics.cosine_similarity_per_row",
        "skl_sparse_ae.metrics.dead_fraction",
        "skl_sparse_ae.metrics.explained_variance",
        "skl_sparse_ae.metrics.feature_density",
        "skl_sparse_ae.metrics.feature_density_histogram",
        "skl_sparse_ae.metrics.fraction_of_variance_unexplained",
        "skl_sparse_ae.metrics.get_scorer",
        "skl_sparse_ae.metrics.get_scorer_names",
        "skl_sparse_ae.metrics.l0",
        "skl_sparse_ae.metrics.l0_per_row",
        "skl_sparse_ae.metrics.make_multimetric_scorer",
        "skl_sparse_ae.metrics.make_sae_scorer",
        "skl_sparse_ae.metrics.mean_squared_error",
        "skl_sparse_ae.metrics.squared_error_per_row",
        "skl_sparse_ae.plotting.plot_filters",
        "skl_sparse_ae.plotting.plot_loss_curves",
        "skl_sparse_ae.plotting.plot_reconstructions",
        "skl_sparse_ae.plotting.plot_samples",
        "skl_sparse_ae.plotting.save_figure",
    }


def _errors(import_path, ignored):
    result = numpydoc.validate.validate(import_path)
    return [
        f"{code}: {message}"
        for code, message in result["errors"]
        if code not in ignored
    ]


@pytest.mark.parametrize("import_path", CLASSES + FUNCTIONS)
def test_docstring_of_class_or_function(import_path):
    errors = _errors(import_path, IGNORED_CHECKS)
    assert not errors, f"{import_path}:\n" + "\n".join(errors)


@pytest.mark.parametrize("import_path", METHODS)
def test_docstring_of_method(import_path):
    errors = _errors(import_path, IGNORED_CHECKS | IGNORED_CHECKS_METHODS)
    assert not errors, f"{import_path}:\n" + "\n".join(errors)
