"""One run of the experiment: load the data, fit, report, write the results."""

import contextlib
import json
import time
from pathlib import Path

import numpy as np

from .. import __version__
from .arguments import make_classifier
from .figures import write_figures
from .progress import Progress, follow, foresee_stages, is_terminal, progress_mode
from .report import (
    blas_line,
    closing_notes,
    converged,
    format_report,
    json_safe,
    stage_record,
)

__all__ = ["run"]


def load_data(args, log):
    """Return X_train, y_train, X_test, y_test and the image shape."""
    if args.dataset == "digits":
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        log("Loading the scikit-learn digits (8x8 images)...")
        X, y = load_digits(return_X_y=True)
        X = (X / 16.0).astype(np.float32)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, stratify=y, random_state=args.random_state
        )
        image_shape = (8, 8)
    else:
        from ..datasets import load_mnist

        if args.mnist_dir is not None:
            log(f"Loading MNIST from the IDX files in {args.mnist_dir}...")
            mnist = load_mnist(Path(args.mnist_dir).expanduser())
        else:
            log(
                "Loading MNIST with sklearn.datasets.fetch_openml (the first "
                "time it is downloaded, about 15 MB, and cached; this can take "
                "a few minutes)..."
            )
            mnist = load_mnist()
        X_train, y_train = mnist.X_train, mnist.y_train
        X_test, y_test = mnist.X_test, mnist.y_test
        image_shape = tuple(int(s) for s in mnist.images.shape[1:])

    if args.n_train is not None:
        order = np.random.RandomState(args.random_state).permutation(len(X_train))
        if args.n_train < len(X_train):
            order = order[: args.n_train]
        else:
            log(
                f"--n-train {args.n_train} >= the {len(X_train)} training "
                "samples: using them all."
            )
        X_train, y_train = X_train[order], y_train[order]
    if len(X_test) == 0:
        raise ValueError("the test set is empty.")
    return X_train, y_train, X_test, y_test, image_shape


def blas_info():
    """The BLAS libraries loaded, with their versions and threads."""
    from threadpoolctl import threadpool_info

    return [
        {
            key: info.get(key)
            for key in ("internal_api", "version", "threading_layer", "num_threads")
        }
        for info in threadpool_info()
        if info.get("user_api") == "blas"
    ]


def blas_threads(n_threads):
    """Context limiting the BLAS thread pools to ``n_threads`` (None: no limit)."""
    if n_threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=n_threads, user_api="blas")


def run(args, out, err):
    """Run the experiment that ``args`` describe; return the exit code (0 or 1)."""

    def log(message):
        if not args.quiet:
            print(message, file=err, flush=True)

    def say(message):
        print(message, file=out, flush=True)

    start = time.perf_counter()
    # Fail now, not after a long fit, if the output folder cannot be made.
    output_dir = Path(args.output_dir).expanduser()
    output_dir.mkdir(parents=True, exist_ok=True)
    data = load_data(args, log)
    X_train, y_train, X_test, y_test, image_shape = data
    load_seconds = time.perf_counter() - start
    n_classes = len(np.unique(y_train))
    log(
        f"Loaded {args.dataset} in {load_seconds:.2f} s: X_train {X_train.shape}, "
        f"X_test {X_test.shape}, {n_classes} classes, images {image_shape}"
    )

    clf = make_classifier(args)
    sizes = " -> ".join(
        str(n) for n in (X_train.shape[1], *clf.hidden_layer_sizes, n_classes)
    )
    what = "pretraining, softmax" + (", fine-tuning" if clf.fine_tune else "")
    log(f"Fitting a stacked sparse autoencoder {sizes} ({what})")
    mode, tqdm = progress_mode(args, err)
    if mode == "lines" and not args.verbose and is_terminal(err):
        log("(pip install tqdm for live progress bars)")
    stages = foresee_stages(clf, X_train.shape[1], n_classes)
    progress = Progress(stages, err, mode, tqdm)
    fit_start = time.perf_counter()
    with (
        follow(progress, clf),
        blas_threads(args.threads),
        # the estimators' per-iteration lines (--verbose) are progress too
        contextlib.redirect_stdout(err),
    ):
        clf.fit(X_train, y_train)
        blas = blas_info()
    fit_seconds = time.perf_counter() - fit_start
    stages = progress.ran

    accuracy_before = clf.pretrained_score(X_test, y_test)
    accuracy_after = float(clf.score(X_test, y_test)) if clf.fine_tune else None
    files, failed = [], []
    if not args.no_plots:
        files, failed = write_figures(clf, data, stages, output_dir, notice=say)

    params = clf.get_params()
    params["hidden_layer_sizes"] = [int(n) for n in clf.hidden_layer_sizes]
    results = {
        "dataset": args.dataset,
        "mnist_dir": args.mnist_dir,
        "threads": args.threads,
        "blas": blas,
        "n_train": int(X_train.shape[0]),
        "n_test": int(X_test.shape[0]),
        "n_features": int(X_train.shape[1]),
        "image_shape": list(image_shape),
        "classes": clf.classes_,
        "parameters": params,
        "stages": [stage_record(stage) for stage in stages],
        "train_accuracy_before_fine_tuning": clf.pretrain_score_,
        "accuracy_before_fine_tuning": accuracy_before,
        "accuracy_after_fine_tuning": accuracy_after,
        "accuracy": accuracy_before if accuracy_after is None else accuracy_after,
        "n_iter": clf.n_iter_,
        "pretrain_n_iter": [ae.n_iter_ for ae in clf.autoencoders_],
        "converged": converged(stages),
        "load_seconds": round(load_seconds, 3),
        "fit_seconds": round(fit_seconds, 3),
        "total_seconds": round(time.perf_counter() - start, 3),
        "version": __version__,
        "files": [*files, "results.json"],
    }
    (output_dir / "results.json").write_text(
        json.dumps(json_safe(results), indent=2) + "\n", encoding="utf-8"
    )
    if mode != "off":
        print(file=err, flush=True)  # a blank line between progress and report
    for line in format_report(stages, accuracy_before, accuracy_after, blas_line(blas)):
        say(line)
    say(
        f"Time: load {load_seconds:.2f} s, fit {fit_seconds:.2f} s, "
        f"total {time.perf_counter() - start:.2f} s"
    )
    n_figures = len(files)
    figures = f" and {n_figures} figure{'s' if n_figures != 1 else ''}" * bool(files)
    say(f"Results in {output_dir} (results.json{figures})")
    for note in closing_notes(stages):
        say(note)
    if failed:
        raise OSError("; ".join(failed))
    return 0
