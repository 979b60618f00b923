"""Stacked sparse autoencoders on full MNIST: accuracy before and after fine-tuning.

Usage::

    python benchmarks/bench_stacked_mnist.py [--mnist-dir DIR] [--config NAME ...]
        [--param key=value ...] [--then key=value ... [--then ...]]

Runs each named configuration on the standard 60,000/10,000 split, in float32,
and prints one row per configuration. ``--mnist-dir`` defaults to
``../shared/data/mnist`` beside the repository when it exists, else
``fetch_openml``. Also times ``MLPClassifier(hidden_layer_sizes=(200, 200))``
in the same run with ``--config mlp``, so the two are compared side by side.

Each ``--then`` continues the fitted classifier with ``warm_start=True`` and
the given parameters changed, for example a lower learning rate to finish
fine-tuning (``--then fine_tune_learning_rate_init=1e-4
fine_tune_max_iter=20``: up to 20 more epochs, fewer if the stopping rule
carried over from the first fit ends them); a row is printed after each
stage with the total epochs of fine-tuning (``n_iter_``), its time counting
every stage so far and the test-set scoring in between (under a second).
"""

import argparse
import json
import time
import warnings
from pathlib import Path

from sklearn.exceptions import ConvergenceWarning

from skl_sparse_ae import StackedSparseAEClassifier
from skl_sparse_ae.datasets import load_mnist

CONFIGS = {
    # the package defaults
    "default": {},
    # the seed's network: 784-784-784-softmax
    "seed": {"hidden_layer_sizes": (784, 784), "sparsity_target": 0.05},
    # UFLDL's stacked autoencoder exercise
    "ufldl": {
        "hidden_layer_sizes": (200, 200),
        "sparsity_target": 0.1,
        "alpha": 3e-3,
        "sparsity_weight": 3.0,
    },
}


def _parse_value(text):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _parse_overrides(pairs):
    return {k: _parse_value(v) for k, v in (p.split("=", 1) for p in pairs)}


def main(argv=None):
    default_dir = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mnist-dir", default=str(default_dir) if default_dir.exists() else None
    )
    parser.add_argument(
        "--config", nargs="+", default=["default"], choices=[*CONFIGS, "mlp"]
    )
    parser.add_argument(
        "--param", nargs="*", default=[], help="override: key=json-value"
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
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--verbose", type=int, default=0)
    args = parser.parse_args(argv)

    mnist = load_mnist(args.mnist_dir)
    X_train, y_train = mnist.X_train, mnist.y_train
    if args.n_train:
        X_train, y_train = X_train[: args.n_train], y_train[: args.n_train]
    overrides = _parse_overrides(args.param)
    stages = [_parse_overrides(stage) for stage in args.then]

    print(f"{'config':<10} {'before FT':>10} {'after FT':>10} {'fit s':>8}  params")
    for name in args.config:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if name == "mlp":
                from sklearn.neural_network import MLPClassifier

                clf = MLPClassifier(
                    hidden_layer_sizes=(200, 200), random_state=args.random_state
                )
                clf.fit(X_train, y_train)
                before = float("nan")
            else:
                params = {**CONFIGS[name], **overrides}
                clf = StackedSparseAEClassifier(
                    random_state=args.random_state, verbose=args.verbose, **params
                ).fit(X_train, y_train)
                before = clf.pretrained_score(mnist.X_test, mnist.y_test)
        seconds = time.perf_counter() - start
        after = clf.score(mnist.X_test, mnist.y_test)
        shown = "" if name == "mlp" else json.dumps({**CONFIGS[name], **overrides})
        print(
            f"{name:<10} {before:>10.4f} {after:>10.4f} {seconds:>8.1f}  {shown}",
            flush=True,
        )
        if name == "mlp":
            continue
        for stage in stages:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.set_params(warm_start=True, **stage).fit(X_train, y_train)
            seconds = time.perf_counter() - start
            after = clf.score(mnist.X_test, mnist.y_test)
            print(
                f"{'  then':<10} {'':>10} {after:>10.4f} {seconds:>8.1f}  "
                f"{json.dumps(stage)}, n_iter_ {clf.n_iter_}",
                flush=True,
            )


if __name__ == "__main__":
    main()
