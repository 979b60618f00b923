"""Dask: a grid search on a dask.distributed cluster, and out-of-core partial_fit.

Needs the ``dask`` extra (``dask[array]`` and ``distributed``). One real
LocalCluster of two worker processes, one thread each, serves the module.

- A GridSearchCV run under ``joblib.parallel_backend("dask")`` gives exactly
  the scores and best parameters of the same search run locally.
- ``partial_fit`` over the blocks of a dask array, each computed on the
  cluster, gives bit-identical weights to ``partial_fit`` over the same numpy
  chunks: the loop documented in docs/scaling.rst.
"""

import logging
import warnings

import joblib
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skl_sparse_ae import SparseAE, StackedSparseAEClassifier

distributed = pytest.importorskip("dask.distributed")
da = pytest.importorskip("dask.array")

# dask and distributed's own deprecations (none with 2026.8) are not ours to fix
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:dask"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:distributed"),
]

STACK_PARAMS = dict(
    hidden_layer_sizes=(6, 4),
    pretrain_max_iter=2,
    pretrain_batch_size=16,
    softmax_max_iter=5,
    fine_tune_max_iter=3,
    fine_tune_batch_size=16,
    random_state=0,
)
CHUNK = 30


@pytest.fixture(scope="module")
def client():
    """A real cluster: two worker processes, no dashboard, quiet logs."""
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    return X[:120] / 16.0, y[:120] % 3


def _searches():
    pipe = make_pipeline(
        MinMaxScaler(),
        SparseAE(
            n_components=4, solver="adam", batch_size=16, max_iter=3, random_state=0
        ),
        LogisticRegression(max_iter=200),
    )
    return {
        "pipeline": GridSearchCV(
            pipe,
            {
                "sparseautoencodertransformer__sparsity_target": [0.05, 0.2],
                "sparseautoencodertransformer__sparsity_weight": [0.5, 3.0],
            },
            cv=2,
        ),
        "stack": GridSearchCV(
            StackedSparseAEClassifier(**STACK_PARAMS),
            {"fine_tune_learning_rate_init": [1e-3, 1e-2]},
            cv=2,
        ),
    }


@pytest.mark.parametrize("search", ["pipeline", "stack"])
def test_grid_search_on_the_cluster_equals_the_local_one(client, data, search):
    X, y = data
    local = _searches()[search]
    on_cluster = _searches()[search]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        local.fit(X, y)
        with (
            distributed.get_task_stream(client) as tasks,
            joblib.parallel_backend("dask"),
        ):
            on_cluster.fit(X, y)
    # the fits did run on the cluster's workers
    workers = {task["worker"] for task in tasks.data}
    assert workers and workers <= set(client.scheduler_info()["workers"])
    for key in ("mean_test_score", "std_test_score", "split1_test_score"):
        assert_array_equal(on_cluster.cv_results_[key], local.cv_results_[key])
    assert on_cluster.best_params_ == local.best_params_
    assert_array_equal(on_cluster.predict(X), local.predict(X))


def _partial_fit_over(estimator, chunks, y_chunks=None, n_epochs=2):
    """The loop of docs/scaling.rst, over numpy arrays or dask blocks."""
    for _ in range(n_epochs):
        for k, block in enumerate(chunks):
            X_block = block if isinstance(block, np.ndarray) else block.compute()
            if y_chunks is None:
                estimator.partial_fit(X_block)
            else:
                y_block = y_chunks[k]
                if not isinstance(y_block, np.ndarray):
                    y_block = y_block.compute()
                estimator.partial_fit(X_block, y_block, classes=[0, 1, 2])
    return estimator


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_partial_fit_over_dask_blocks_equals_numpy_chunks(client, data, dtype):
    X = data[0].astype(dtype)
    X_dask = da.from_array(X, chunks=(CHUNK, -1))
    assert X_dask.numblocks == (4, 1)
    ae = SparseAE(n_components=4, solver="adam", batch_size=16, random_state=0)
    chunks = [X[i : i + CHUNK] for i in range(0, X.shape[0], CHUNK)]
    from_numpy = _partial_fit_over(clone(ae), chunks)
    from_dask = _partial_fit_over(clone(ae), X_dask.blocks)
    assert from_dask.n_iter_ == 8
    for a, b in zip(
        from_dask.coefs_ + from_dask.intercepts_,
        from_numpy.coefs_ + from_numpy.intercepts_,
    ):
        assert a.dtype == dtype
        assert_array_equal(a, b)
    assert from_dask.loss_curve_ == from_numpy.loss_curve_


def test_stacked_partial_fit_over_dask_blocks_equals_numpy_chunks(client, data):
    X, y = data
    X_dask = da.from_array(X, chunks=(CHUNK, -1))
    y_dask = da.from_array(y, chunks=CHUNK)
    clf = StackedSparseAEClassifier(**STACK_PARAMS)
    starts = range(0, X.shape[0], CHUNK)
    with warnings.catch_warnings():
        # the first call pretrains on the first chunk, for a few epochs
        warnings.simplefilter("ignore", ConvergenceWarning)
        from_numpy = _partial_fit_over(
            clone(clf),
            [X[i : i + CHUNK] for i in starts],
            [y[i : i + CHUNK] for i in starts],
        )
        from_dask = _partial_fit_over(clone(clf), X_dask.blocks, y_dask.blocks)
    assert from_dask.n_iter_ == 8
    for a, b in zip(
        from_dask.coefs_ + from_dask.intercepts_,
        from_numpy.coefs_ + from_numpy.intercepts_,
    ):
        assert_array_equal(a, b)
    assert_array_equal(from_dask.predict_proba(X), from_numpy.predict_proba(X))
