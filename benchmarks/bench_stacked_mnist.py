"""Stacked sparse autoencoders on full MNIST: accuracy before and after fine-tuning.

Usage::

    python benchmarks/bench_stacked_mnist.py [--mnist-dir DIR] [--config NAME ...]
        [--random-state SEED ...] [--param key=value ...]
        [--then key=value ... [--then ...]]

Runs each named configuration (``skl_sparse_ae._configs.CONFIGS``: default,
seed, ufldl, best, the names of the command line's ``--config``) on the
standard 60,000/10,000 split, in float32, once per ``--random-state``, and
prints one row per run: test accuracy before fine-tuning (the pretrained
network, :meth:`pretrained_score`), after it, and the fit time.
``--mnist-dir`` defaults to ``../shared/data/mnist`` beside the repository
when it exists, else ``fetch_openml``. Baselines in the same run, for side by
side comparisons:

- ``mlp``: ``MLPClassifier(hidden_layer_sizes=(200, 200))``;
- ``pipeline``: ``Pipeline([SparseAE(...), LogisticRegression()])`` with the
  parameters of :data:`PIPELINE` (the user guide's example);
- ``rbm``: ``Pipeline([BernoulliRBM(200), LogisticRegression()])``, the
  scikit-learn example's model.

Each ``--then`` continues the fitted classifier with ``warm_start=True`` and
the given parameters changed, for example a lower learning rate to finish
fine-tuning (``--then fine_tune_learning_rate_init=1e-4
fine_tune_max_iter=20``); a row is printed after each stage with the total
epochs of fine-tuning (``n_iter_``), its time counting every stage so far.

Headline figures: prefix the command with ``env -u OPENBLAS_CORETYPE -u
OPENBLAS_L2_SIZE`` and check the BLAS kernel in the header.
"""

import argparse
import json
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

from _bench_common import print_header
from sklearn.exceptions import ConvergenceWarning

from skl_sparse_ae import SparseAE, StackedSparseAEClassifier
from skl_sparse_ae._configs import CONFIGS, config_params
from skl_sparse_ae.datasets import load_mnist

# SparseAE features under a logistic regression: the user guide's pipeline.
PIPELINE = {
    "ae": dict(
        n_components=1000,
        sparsity_weight=0.5,
        corruption_level=0.2,
        solver="adam",
        learning_rate_init=0.01,
        max_iter=10,
    ),
    "clf": dict(C=1.0, max_iter=500),
}


def _parse_value(text):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _parse_overrides(pairs):
    return {k: _parse_value(v) for k, v in (p.split("=", 1) for p in pairs)}


def _baseline(name, seed, overrides):
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import BernoulliRBM, MLPClassifier
    from sklearn.pipeline import Pipeline

    if name == "mlp":
        return MLPClassifier(hidden_layer_sizes=(200, 200), random_state=seed)
    if name == "rbm":
        return Pipeline(
            [
                ("rbm", BernoulliRBM(n_components=200, random_state=seed)),
                ("clf", LogisticRegression(max_iter=500)),
            ]
        )
    pipe = Pipeline(
        [
            ("ae", SparseAE(random_state=seed, **PIPELINE["ae"])),
            ("clf", LogisticRegression(**PIPELINE["clf"])),
        ]
    )
    return pipe.set_params(**overrides)


def main(argv=None):
    default_dir = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mnist-dir", default=str(default_dir) if default_dir.exists() else None
    )
    parser.add_argument(
        "--config",
        nargs="+",
        default=["default"],
        choices=[*CONFIGS, "mlp", "pipeline", "rbm"],
    )
    parser.add_argument(
        "--param",
        nargs="*",
        default=[],
        help="override: key=json-value (pipeline: ae__key=..., clf__key=...)",
    )
    parser.add_argument(
        "--then",
        nargs="+",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="continue with warm_start=True and these overrides (repeatable)",
    )
    parser.add_argument("--n-train", type=int, default=None)
    parser.add_argument("--random-state", type=int, nargs="+", default=[0])
    parser.add_argument("--verbose", type=int, default=0)
    args = parser.parse_args(argv)
    print_header(
        "Stacked sparse autoencoders on MNIST",
        SimpleNamespace(threads=None, kernel_threads=None, repeat=1),
    )

    mnist = load_mnist(args.mnist_dir)
    X_train, y_train = mnist.X_train, mnist.y_train
    if args.n_train:
        X_train, y_train = X_train[: args.n_train], y_train[: args.n_train]
    overrides = _parse_overrides(args.param)
    stages = [_parse_overrides(stage) for stage in args.then]

    print(
        f"{'config':<10} {'seed':>4} {'before FT':>10} {'after FT':>10} "
        f"{'fit s':>8}  params",
        flush=True,
    )
    for name in args.config:
        for seed in args.random_state:
            _run(name, seed, overrides, stages, args, X_train, y_train, mnist)


def _run(name, seed, overrides, stages, args, X_train, y_train, mnist):
    baseline = name not in CONFIGS
    if baseline:
        clf = _baseline(name, seed, overrides if name == "pipeline" else {})
        shown = ""
        if name == "pipeline":
            shown = json.dumps({**PIPELINE, "overrides": overrides}, default=str)
    else:
        params = {**config_params(name), **overrides}
        clf = StackedSparseAEClassifier(
            random_state=seed, verbose=args.verbose, **params
        )
        shown = json.dumps(params)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    before = (
        float("nan") if baseline else clf.pretrained_score(mnist.X_test, mnist.y_test)
    )
    after = clf.score(mnist.X_test, mnist.y_test)
    if not baseline and not clf.fine_tune:
        after = float("nan")
    print(
        f"{name:<10} {seed:>4} {before:>10.4f} {after:>10.4f} {seconds:>8.1f}  {shown}",
        flush=True,
    )
    if baseline:
        return
    for stage in stages:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.set_params(warm_start=True, **stage).fit(X_train, y_train)
        seconds = time.perf_counter() - start
        after = clf.score(mnist.X_test, mnist.y_test)
        print(
            f"{'  then':<10} {seed:>4} {'':>10} {after:>10.4f} {seconds:>8.1f}  "
            f"{json.dumps(stage)}, n_iter_ {clf.n_iter_}",
            flush=True,
        )


if __name__ == "__main__":
    main()
