"""Command line interface: the seed's stacked sparse autoencoder experiment.

``skl-sparse-ae`` (or ``python -m skl_sparse_ae``) pretrains a stack of sparse
autoencoders layer by layer, trains a softmax layer on top, optionally
fine-tunes the whole network, reports the test accuracy before and after
fine-tuning and writes the figures of the experiment (input samples,
first- and second-layer filters, loss curves, reconstructions) and a
``results.json`` file.

Progress goes to standard error and the results to standard output, so
``skl-sparse-ae > report.txt`` keeps a clean report. The progress is a live
tqdm bar per stage when tqdm is installed and standard error is a terminal,
and otherwise one summary line per stage when it ends; ``--verbose`` adds the
estimators' per-iteration lines and ``--quiet`` leaves only the results. The
command follows the solvers through the private hook
:func:`skl_sparse_ae._solvers.observe_progress`, which the estimators' API
does not expose.
"""

import argparse
import contextlib
import json
import math
import os
import shutil
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ._callbacks import ProgressEvents
from ._configs import CONFIGS, config_params
from ._solvers import INTERRUPT_MESSAGE

__all__ = ["main"]

PROG = "skl-sparse-ae"
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# Message of the warning the minibatch solvers emit when they catch Ctrl-C
# during fine-tuning (they stop and return the network so far, as
# MLPClassifier); a command line run must stop altogether.
_INTERRUPT_WARNING = INTERRUPT_MESSAGE

# Training of the 8x8 digits, unless --pretrain-solver/--pretrain-max-iter
# say otherwise: 1347 images are too few minibatches for 20 epochs of adam to
# train an autoencoder (its filters stay noise), while UFLDL's full-batch
# L-BFGS draws stroke filters in seconds. Every stage ends without a
# ConvergenceWarning: L-BFGS runs to convergence (largest gradient entry below
# tol=1e-4: 1000 to 1250 iterations for the first layer and about 560 for
# the second on seeds 0 and 1, so 2000 leaves a margin), and the fine-tuning stops by
# early stopping (10% of the training images held out; it stops once their
# accuracy has not improved for n_iter_no_change=10 epochs and keeps the best
# epoch's weights), well before its 200 epochs.
# MNIST uses the classifier's defaults (adam), which fit its 5-minute budget.
# L-BFGS sees one fixed objective, so a denoising autoencoder would get a
# single corrupted copy of the 1347 images: plain autoencoders do better there
# (97.8 % against 98.2 % test accuracy before fine-tuning).
_PRETRAINING = {
    "digits": {
        "pretrain_solver": "lbfgs",
        "pretrain_max_iter": 2000,
        "corruption_level": 0.0,
    }
}
_FINE_TUNING = {"digits": {"fine_tune_early_stopping": True}}
# BLAS threads unless --threads is given: the digits' matrices are so small
# that a second OpenBLAS thread costs more than it brings (fit 38 s with two,
# under 20 s with one, on a 2-core machine); MNIST keeps the BLAS default.
_BLAS_THREADS = {"digits": 1}

_EPILOG = """\
examples:
  skl-sparse-ae
      8x8 scikit-learn digits with the default network; writes results/digits/
  skl-sparse-ae --dataset mnist --mnist-dir ~/data/mnist --hidden 200 200 \\
      --output-dir results/mnist
      MNIST from the four IDX files (train-images-idx3-ubyte[.gz], ...)
"""


class _UsageError(Exception):
    """Bad command line arguments (exit code 2)."""


class _ArgumentParser(argparse.ArgumentParser):
    """ArgumentParser whose errors raise instead of printing and exiting."""

    def error(self, message):
        raise _UsageError(message)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _real(low=None, high=None, *, low_closed=True):
    """argparse type: a finite float in [low, high) or (low, high)."""

    def convert(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a number, got {text!r}"
            ) from None
        too_low = low is not None and (value < low if low_closed else value <= low)
        too_high = high is not None and value >= high
        if not math.isfinite(value) or too_low or too_high:
            left = "[" if low_closed else "("
            interval = f"{left}{low}, {'inf' if high is None else high})"
            raise argparse.ArgumentTypeError(f"must lie in {interval}, got {text}")
        return value

    return convert


def _default_params():
    """The classifier's parameters under ``--config default``, for --help."""
    from ._stacked import StackedSparseAEClassifier

    return {**StackedSparseAEClassifier().get_params(), **config_params("default")}


def _build_parser():
    defaults = _default_params()
    hidden = " ".join(str(size) for size in defaults["hidden_layer_sizes"])
    parser = _ArgumentParser(
        prog=PROG,
        description=textwrap.fill(
            "Run the stacked sparse autoencoder experiment: greedy layer-wise "
            "pretraining of sparse autoencoders, a softmax layer on top, then "
            "(optionally) fine-tuning of the whole network by backpropagation. "
            "Shows the progress of each stage on standard error (a progress "
            "bar in a terminal with tqdm installed, else one line per stage), "
            "prints a report (each stage's size, iterations, final loss and "
            "time, the test accuracy before and after fine-tuning, the BLAS "
            "library) on standard output, and writes samples.png (Fig. 1), "
            "filters_layer1.png (Fig. 2), filters_layer2.png (Fig. 3), "
            "loss_curves.png, reconstructions.png and results.json to the "
            "output folder.",
            width=79,
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--dataset",
        choices=("digits", "mnist"),
        default=None,
        help=(
            "digits: scikit-learn's 8x8 digits scaled to [0, 1], 75%%/25%% "
            "stratified train/test split; mnist: 28x28 MNIST, 60000/10000 split, "
            "fetched from OpenML (cached in the scikit-learn data folder) unless "
            "--mnist-dir is given (default: digits, or mnist with --mnist-dir)"
        ),
    )
    data.add_argument(
        "--mnist-dir",
        metavar="PATH",
        default=None,
        help=(
            "folder holding the four MNIST IDX files train-images-idx3-ubyte, "
            "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
            "t10k-labels-idx1-ubyte (each optionally .gz); implies --dataset "
            "mnist (default: download from OpenML)"
        ),
    )
    data.add_argument(
        "--n-train",
        type=_positive_int,
        metavar="N",
        default=None,
        help=(
            "train on the first N training samples after shuffling them with "
            "--random-state, for quick runs (default: all)"
        ),
    )
    model = parser.add_argument_group("model")
    model.add_argument(
        "--config",
        choices=tuple(CONFIGS),
        default="default",
        help=(
            "named configuration of the classifier, which the options below "
            "adjust: "
            + "; ".join(f"{name}: {c['description']}" for name, c in CONFIGS.items())
            + " (default: default). The user guide gives each one's accuracy and "
            "fit time on MNIST."
        ),
    )
    model.add_argument(
        "--hidden",
        type=_positive_int,
        nargs="+",
        metavar="UNITS",
        default=None,
        help=f"units of each hidden layer, input side first (default: {hidden})",
    )
    model.add_argument(
        "--sparsity-target",
        type=_real(0, 1, low_closed=False),
        metavar="RHO",
        default=None,
        help=(
            "target mean activation rho of each hidden unit, in (0, 1) "
            f"(default: {defaults['sparsity_target']})"
        ),
    )
    model.add_argument(
        "--sparsity-weight",
        type=_real(0),
        metavar="BETA",
        default=None,
        help=(
            "weight beta of the KL sparsity penalty, >= 0 "
            f"(default: {defaults['sparsity_weight']})"
        ),
    )
    model.add_argument(
        "--alpha",
        type=_real(0),
        metavar="LAMBDA",
        default=None,
        help=(
            "weight decay lambda of the autoencoders, >= 0 "
            f"(default: {defaults['alpha']})"
        ),
    )
    model.add_argument(
        "--corruption-level",
        type=_real(0, 1),
        metavar="LEVEL",
        default=None,
        help=(
            "masking noise of the denoising autoencoders: the fraction of each "
            "autoencoder's inputs set to 0 during pretraining, in [0, 1) "
            f"(default: {defaults['corruption_level']}; 0 for digits, whose "
            "L-BFGS pretraining would see a single corrupted copy)"
        ),
    )
    model.add_argument(
        "--dropout",
        type=_real(0, 1),
        metavar="RATE",
        default=None,
        help=(
            "dropout rate of the hidden units during fine-tuning, in [0, 1) "
            f"(default: {defaults['fine_tune_dropout']})"
        ),
    )
    training = parser.add_argument_group("training")
    training.add_argument(
        "--fine-tune",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=(
            "fine-tune the whole network after pretraining and the softmax "
            "layer; --no-fine-tune stops before, as in the seed experiment "
            "(default: as --config says: fine-tune, except for seed)"
        ),
    )
    training.add_argument(
        "--pretrain-solver",
        choices=("lbfgs", "adam", "sgd"),
        default=None,
        help=(
            "solver of each autoencoder; UFLDL uses lbfgs (default: "
            f"{_PRETRAINING['digits']['pretrain_solver']} for digits, "
            f"{defaults['pretrain_solver']} for mnist)"
        ),
    )
    training.add_argument(
        "--pretrain-max-iter",
        type=_positive_int,
        metavar="N",
        default=None,
        help=(
            "iterations (lbfgs) or epochs (adam, sgd) of each autoencoder's "
            f"pretraining (default: {_PRETRAINING['digits']['pretrain_max_iter']} "
            f"for digits, {defaults['pretrain_max_iter']} for mnist)"
        ),
    )
    training.add_argument(
        "--max-iter",
        type=_positive_int,
        metavar="N",
        default=None,
        help=f"epochs of fine-tuning (default: {defaults['fine_tune_max_iter']})",
    )
    training.add_argument(
        "--early-stopping",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=(
            "hold out 10%% of the training data and stop fine-tuning when their "
            "accuracy stops improving, keeping the best weights (default: on "
            "for digits, off for mnist)"
        ),
    )
    training.add_argument(
        "--random-state",
        type=int,
        metavar="SEED",
        default=0,
        help="seed of the split, the subsampling and the training (default: 0)",
    )
    training.add_argument(
        "--threads",
        type=_positive_int,
        metavar="N",
        default=None,
        help=(
            "limit the BLAS threads; 1 is much faster for small networks or on "
            "a busy machine (default: 1 for digits; for mnist the BLAS default, "
            "e.g. OMP_NUM_THREADS)"
        ),
    )
    output = parser.add_argument_group("output")
    output.add_argument(
        "--output-dir",
        metavar="PATH",
        default=None,
        help="folder for the figures and results.json (default: results/DATASET)",
    )
    output.add_argument(
        "--no-plots",
        action="store_true",
        help="do not draw figures; write only results.json (default: draw them)",
    )
    chatter = output.add_mutually_exclusive_group()
    chatter.add_argument(
        "--quiet",
        action="store_true",
        help="print only the results, no progress (default: show the progress)",
    )
    chatter.add_argument(
        "--verbose",
        action="store_true",
        help=(
            "print one line per iteration or epoch of every stage instead of "
            "a progress bar (default: a bar per stage)"
        ),
    )
    from . import __version__

    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    return parser


def _parse_args(argv):
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.dataset is None:
        args.dataset = "mnist" if args.mnist_dir is not None else "digits"
    elif args.dataset != "mnist" and args.mnist_dir is not None:
        parser.error("--mnist-dir can only be used with --dataset mnist")
    if args.output_dir is None:
        args.output_dir = str(Path("results") / args.dataset)
    if args.threads is None:
        args.threads = _BLAS_THREADS.get(args.dataset)
    return args


# -- data ----------------------------------------------------------------


def _load_data(args, log):
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
        from .datasets import load_mnist

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


# -- fitting -------------------------------------------------------------


class _WarningMonitor:
    """Count ConvergenceWarnings instead of showing them; turn Ctrl-C back on.

    The fine-tuning's minibatch solver catches KeyboardInterrupt, warns and
    returns the network so far; for a command line run an interrupt must stop
    it all. ``on_convergence_warning()`` is called for each ConvergenceWarning
    (the progress marks the stage that just ended).
    Other warnings are shown as usual.
    """

    def __init__(self, on_convergence_warning=None):
        self.n_convergence = 0
        self._on_convergence_warning = on_convergence_warning

    def __enter__(self):
        self._context = warnings.catch_warnings()
        self._context.__enter__()
        warnings.simplefilter("always", ConvergenceWarning)
        warnings.filterwarnings("always", message=_INTERRUPT_WARNING)
        self._showwarning = warnings.showwarning
        warnings.showwarning = self._show
        return self

    def __exit__(self, *exc_info):
        return self._context.__exit__(*exc_info)

    def _show(self, message, category, filename, lineno, file=None, line=None):
        if issubclass(category, ConvergenceWarning):
            self.n_convergence += 1
            if self._on_convergence_warning is not None:
                self._on_convergence_warning()
            return
        if str(message).startswith(_INTERRUPT_WARNING):
            raise KeyboardInterrupt
        self._showwarning(message, category, filename, lineno, file, line)


# -- progress ------------------------------------------------------------


class _Stage:
    """One stage of the fit (a solver run) as the report shows it."""

    def __init__(self, name, size, solver, early_stopping=False):
        self.name = name
        self.size = size
        self.solver = solver
        self.unit = "iterations" if solver == "lbfgs" else "epochs"
        self.early_stopping = early_stopping
        self.max_iter = None
        self.n_iter = 0
        self.loss = math.nan
        self.loss_curve = []
        self.seconds = 0.0
        self.warned = False
        self._start = None

    @property
    def stop(self):
        """Why the stage stopped, in a word or two."""
        if self.warned:
            return "max_iter"
        if self.solver == "lbfgs":
            return "converged"
        if self.max_iter is not None and self.n_iter >= self.max_iter:
            return "max_iter"
        return "early stopping" if self.early_stopping else "loss plateau"

    def as_dict(self):
        return {
            "stage": self.name,
            "size": self.size,
            "solver": self.solver,
            "n_iter": self.n_iter,
            "max_iter": self.max_iter,
            "final_loss": self.loss,
            "seconds": round(self.seconds, 3),
            "stop": self.stop,
        }


def _stages(clf, n_features, n_classes):
    """The stages of ``clf.fit``, in the order their solvers run."""
    sizes = (n_features, *(int(n) for n in clf.hidden_layer_sizes))
    stages = [
        _Stage(f"pretraining layer {k + 1}", f"{n_in} -> {n_out}", clf.pretrain_solver)
        for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]))
    ]
    stages.append(_Stage("softmax", f"{sizes[-1]} -> {n_classes}", "lbfgs"))
    if clf.fine_tune:
        stages.append(
            _Stage(
                "fine-tuning",
                "-".join(str(n) for n in (*sizes, n_classes)),
                clf.fine_tune_solver,
                early_stopping=clf.fine_tune_early_stopping,
            )
        )
    return stages


def _import_tqdm():
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


def _is_terminal(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class _Progress:
    """Follows the solver runs of one fit (the ``observe_progress`` hook).

    Each run is the next of ``stages``. ``mode`` is "bar" (a live tqdm bar per
    stage on ``stream``), "lines" (a summary line per stage when it ends) or
    "off" (nothing shown). Whatever the mode, the stages' iterations, losses
    and times are kept for the report and the loss curves.
    """

    def __init__(self, stages, stream, mode, tqdm=None):
        self.stages = stages
        self.stream = stream
        self.mode = mode
        self._tqdm = tqdm
        self._bar = None
        self._n_started = 0
        self._width = max(len(stage.name) for stage in stages)

    @property
    def current(self):
        return self.stages[self._n_started - 1] if self._n_started else None

    def __call__(self, event, **info):
        if event == "start":
            self._start(info["max_iter"])
        elif event == "iteration":
            self._iteration(info["n_iter"], info["loss"])
        elif event == "end":
            self._end(info["n_iter"], info["loss"])

    def _start(self, max_iter):
        if self._n_started == len(self.stages):  # not foreseen: show it anyway
            self.stages.append(_Stage(f"stage {self._n_started + 1}", "", "lbfgs"))
        self._n_started += 1
        stage = self.current
        stage.max_iter = int(max_iter)
        stage._start = time.perf_counter()
        if self.mode == "bar":
            columns, lines = shutil.get_terminal_size((100, 24))
            self._bar = self._tqdm(
                total=stage.max_iter,
                desc=f"{stage.name}:".ljust(self._width + 1),
                bar_format="{desc} {percentage:3.0f}%|{bar}{r_bar}",
                unit="it" if stage.solver == "lbfgs" else "epoch",
                file=self.stream,
                leave=True,
                # tqdm draws nothing in a terminal that reports a size of 0
                # (a pseudo-terminal without one, as script(1) makes)
                ncols=columns or 100,
                nrows=lines or 24,
                mininterval=0.2,
            )

    def _iteration(self, n_iter, loss):
        stage = self.current
        if stage is None:
            return
        stage.n_iter = n_iter
        stage.loss = float(loss)
        stage.loss_curve.append(float(loss))
        if self._bar is not None:
            self._bar.set_postfix_str(f"loss={loss:.4g}", refresh=False)
            self._bar.update(n_iter - self._bar.n)

    def _end(self, n_iter, loss):
        stage = self.current
        if stage is None:
            return
        stage.n_iter, stage.loss = int(n_iter), float(loss)
        stage.seconds = time.perf_counter() - stage._start
        if self._bar is not None:
            # a stage that stopped before max_iter is done: show it full
            self._bar.total = max(self._bar.n, 1)
            self._bar.set_postfix_str(f"loss={loss:.4g}", refresh=False)
            self.close()
        elif self.mode == "lines":
            print(
                f"{stage.name} ({stage.size}, {stage.solver}): {stage.n_iter} "
                f"{stage.unit}, loss {stage.loss:.4g}, {stage.seconds:.1f} s",
                file=self.stream,
                flush=True,
            )

    def convergence_warning(self):
        if self.current is not None:
            self.current.warned = True

    def close(self):
        """Close the live bar, if any (also when the fit fails)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _progress_mode(args, err):
    """ "bar", "lines" or "off", and tqdm's class for "bar"."""
    if args.quiet:
        return "off", None
    if args.verbose or not _is_terminal(err):
        return "lines", None
    tqdm = _import_tqdm()
    if tqdm is None:
        return "lines", None
    return "bar", tqdm


def _blas_info():
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


def _blas_line(blas):
    if not blas:
        return "BLAS: none found by threadpoolctl"
    parts = []
    for info in blas:
        threads = info["num_threads"]
        layer = info["threading_layer"]
        details = [f"{threads} thread{'s' if threads != 1 else ''}"]
        if layer and layer != "unknown":
            details.insert(0, layer)
        name = f"{info['internal_api']} {info['version'] or ''}".rstrip()
        parts.append(f"{name} ({', '.join(details)})")
    return f"BLAS: {', '.join(parts)}; {os.cpu_count()} CPUs"


def _blas_threads(n_threads):
    """Context limiting the BLAS thread pools to ``n_threads`` (None: no limit)."""
    if n_threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=n_threads, user_api="blas")


def _make_classifier(args):
    from ._stacked import StackedSparseAEClassifier

    params = config_params(args.config)
    params.update(random_state=args.random_state, verbose=int(args.verbose))
    # the dataset's adjustments, where the configuration sets no solver itself
    if args.pretrain_solver is None and args.pretrain_max_iter is None:
        if "pretrain_solver" not in params:
            params.update(_PRETRAINING.get(args.dataset, {}))
    params.update(_FINE_TUNING.get(args.dataset, {}))
    if args.fine_tune is not None:
        params["fine_tune"] = args.fine_tune
    if args.early_stopping is not None:
        params["fine_tune_early_stopping"] = args.early_stopping
    optional = {
        "hidden_layer_sizes": None if args.hidden is None else tuple(args.hidden),
        "sparsity_target": args.sparsity_target,
        "sparsity_weight": args.sparsity_weight,
        "alpha": args.alpha,
        "corruption_level": args.corruption_level,
        "fine_tune_dropout": args.dropout,
        "pretrain_solver": args.pretrain_solver,
        "pretrain_max_iter": args.pretrain_max_iter,
        "fine_tune_max_iter": args.max_iter,
    }
    params.update({k: v for k, v in optional.items() if v is not None})
    return StackedSparseAEClassifier(**params)


def _convergence_note(clf):
    """One line naming the options that would let the solvers converge."""
    options = []
    if any(ae.n_iter_ >= clf.pretrain_max_iter for ae in clf.autoencoders_):
        options.append("--pretrain-max-iter")
    if clf.fine_tune and clf.n_iter_ >= clf.fine_tune_max_iter:
        options.append("--max-iter")
    if not options:  # the softmax layer's L-BFGS, which has no option here
        return "note: the softmax layer's solver stopped before converging"
    hint = " or ".join(options)
    return f"note: the solver stopped at max_iter before converging (increase {hint})"


# -- output --------------------------------------------------------------


def _json_safe(value):
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _reconstruction_samples(X, y, n_samples=10):
    """Row indices of up to ``n_samples`` samples, the first of each class first."""
    classes = np.unique(y)
    first = [int(np.flatnonzero(y == c)[0]) for c in classes]
    rest = [i for i in range(len(y)) if i not in set(first)]
    return (first + rest)[:n_samples]


def _loss_curves_figure(stages, plot_loss_curves):
    curves = {stage.name: stage.loss_curve for stage in stages if stage.loss_curve}
    fig = plot_loss_curves(
        curves,
        logy=True,
        subplots=True,
        figsize=(min(3.2 * len(curves), 16.0), 3.2),
        title="Training loss of each stage (log scale)",
    )
    from matplotlib.ticker import MaxNLocator

    named = [stage for stage in stages if stage.loss_curve]
    for ax, stage in zip(fig.axes, named):
        ax.set_xlabel(stage.unit[:-1])  # "iteration" or "epoch"
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        ax.set_title(f"{stage.name}\n{stage.size}, {stage.stop}", fontsize="medium")
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def _write_figures(clf, data, stages, output_dir, notice):
    """Draw Fig. 1-3, the loss curves and the reconstructions.

    Return the names of the files written and the errors of those that failed.
    """
    try:
        import matplotlib
    except ImportError:
        notice(
            "note: matplotlib is not installed; skipping the figures "
            "(pip install matplotlib)"
        )
        return [], []
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plotting import (
        plot_filters,
        plot_loss_curves,
        plot_reconstructions,
        plot_samples,
        save_figure,
    )

    X_train, y_train, X_test, y_test, image_shape = data
    fine_tuned = clf.fine_tune and len(clf.loss_curve_) > 0
    figures = [
        (
            "samples.png",
            lambda: plot_samples(
                X_train,
                image_shape=image_shape,
                n_samples=100,
                labels=y_train,
                title="Fig. 1: training inputs",
            ),
        ),
        (
            "filters_layer1.png",
            lambda: plot_filters(
                clf.autoencoders_[0],
                image_shape=image_shape,
                title="Fig. 2: first-layer filters (pretrained)",
            ),
        ),
    ]
    if len(clf.autoencoders_) >= 2:
        state = "fine-tuned" if fine_tuned else "pretrained"
        figures.append(
            (
                "filters_layer2.png",
                lambda: plot_filters(
                    clf,
                    layer=1,
                    image_shape=image_shape,
                    title=f"Fig. 3: second-layer filters, W1 @ W2 ({state})",
                ),
            )
        )
    figures.append(
        ("loss_curves.png", lambda: _loss_curves_figure(stages, plot_loss_curves))
    )
    figures.append(
        (
            "reconstructions.png",
            lambda: plot_reconstructions(
                clf,
                X_test[_reconstruction_samples(X_test, y_test)],
                image_shape=image_shape,
                title="Test images and their reconstructions (pretrained autoencoders)",
            ),
        )
    )

    written, failed = [], []
    for name, draw in figures:
        try:
            fig = draw()
            try:
                save_figure(fig, output_dir / name)
            finally:
                plt.close(fig)
        except (ValueError, OSError, RuntimeError) as exc:
            # Keep going: the results of a long fit must not be lost.
            failed.append(f"could not write {name}: {exc}")
            continue
        written.append(name)
    return written, failed


def _format_report(stages, accuracy_before, accuracy_after, blas_line):
    """The table of the stages and the test accuracies, as lines."""
    header = ("stage", "size", "solver", "iterations", "final loss", "time", "stop")
    rows = [
        (
            stage.name,
            stage.size,
            stage.solver,
            f"{stage.n_iter}/{stage.max_iter}"
            + (" epochs" if stage.unit == "epochs" else ""),
            f"{stage.loss:.5f}",
            f"{stage.seconds:.1f} s",
            stage.stop,
        )
        for stage in stages
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    right = {3, 4, 5}  # numbers are right-aligned

    def line(row):
        cells = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths))
        ]
        return "  ".join(cells).rstrip()

    lines = [line(header), line(["-" * w for w in widths]), *map(line, rows)]
    lines.append("")
    lines.append(f"Test accuracy before fine-tuning: {accuracy_before:.4f}")
    if accuracy_after is not None:
        lines.append(f"Test accuracy after fine-tuning:  {accuracy_after:.4f}")
    lines.append(blas_line)
    return lines


def _run(args, out, err):
    def log(message):
        if not args.quiet:
            print(message, file=err, flush=True)

    def say(message):
        print(message, file=out, flush=True)

    from . import __version__

    start = time.perf_counter()
    # Fail now, not after a long fit, if the output folder cannot be made.
    output_dir = Path(args.output_dir).expanduser()
    output_dir.mkdir(parents=True, exist_ok=True)
    X_train, y_train, X_test, y_test, image_shape = _load_data(args, log)
    load_seconds = time.perf_counter() - start
    n_classes = len(np.unique(y_train))
    log(
        f"Loaded {args.dataset} in {load_seconds:.2f} s: X_train {X_train.shape}, "
        f"X_test {X_test.shape}, {n_classes} classes, images {image_shape}"
    )

    clf = _make_classifier(args)
    stages = _stages(clf, X_train.shape[1], n_classes)
    sizes = " -> ".join(
        str(n) for n in (X_train.shape[1], *clf.hidden_layer_sizes, n_classes)
    )
    what = "pretraining, softmax" + (", fine-tuning" if clf.fine_tune else "")
    log(f"Fitting a stacked sparse autoencoder {sizes} ({what})")
    mode, tqdm = _progress_mode(args, err)
    if mode == "lines" and not args.verbose and _is_terminal(err):
        log("(pip install tqdm for live progress bars)")
    progress = _Progress(stages, err, mode, tqdm)
    fit_start = time.perf_counter()
    try:
        with (
            _WarningMonitor(progress.convergence_warning) as monitor,
            _blas_threads(args.threads),
            # the estimators' per-iteration lines (--verbose) are progress too
            contextlib.redirect_stdout(err),
        ):
            clf.set_callbacks(ProgressEvents(progress))
            clf.fit(X_train, y_train)
            blas = _blas_info()
    finally:
        progress.close()
    fit_seconds = time.perf_counter() - fit_start

    accuracy_before = clf.pretrained_score(X_test, y_test)
    accuracy_after = float(clf.score(X_test, y_test)) if clf.fine_tune else None

    files, failed = [], []
    if not args.no_plots:
        files, failed = _write_figures(
            clf,
            (X_train, y_train, X_test, y_test, image_shape),
            progress.stages,
            output_dir,
            notice=say,
        )

    total_seconds = time.perf_counter() - start
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
        "stages": [stage.as_dict() for stage in progress.stages],
        "train_accuracy_before_fine_tuning": clf.pretrain_score_,
        "accuracy_before_fine_tuning": accuracy_before,
        "accuracy_after_fine_tuning": accuracy_after,
        "accuracy": accuracy_before if accuracy_after is None else accuracy_after,
        "n_iter": clf.n_iter_,
        "pretrain_n_iter": [ae.n_iter_ for ae in clf.autoencoders_],
        "converged": monitor.n_convergence == 0,
        "load_seconds": round(load_seconds, 3),
        "fit_seconds": round(fit_seconds, 3),
        "total_seconds": round(total_seconds, 3),
        "version": __version__,
        "files": [*files, "results.json"],
    }
    results_path = output_dir / "results.json"
    results_path.write_text(
        json.dumps(_json_safe(results), indent=2) + "\n", encoding="utf-8"
    )
    if mode != "off":
        print(file=err, flush=True)  # a blank line between progress and report
    for line in _format_report(
        progress.stages, accuracy_before, accuracy_after, _blas_line(blas)
    ):
        say(line)
    say(
        f"Time: load {load_seconds:.2f} s, fit {fit_seconds:.2f} s, "
        f"total {time.perf_counter() - start:.2f} s"
    )
    n_figures = len(files)
    figures = f" and {n_figures} figure{'s' if n_figures != 1 else ''}" * bool(files)
    say(f"Results in {output_dir} (results.json{figures})")
    if monitor.n_convergence:
        say(_convergence_note(clf))
    if failed:
        _error(err, "; ".join(failed))
        return EXIT_FAILURE
    return EXIT_OK


def _error(err, message):
    message = " ".join(str(message).split())  # one line
    print(f"{PROG}: error: {message}", file=err, flush=True)


def main(argv=None):
    """Run the stacked sparse autoencoder experiment from the command line.

    This is the entry point of the ``skl-sparse-ae`` command and of
    ``python -m skl_sparse_ae``. It loads the data (scikit-learn's 8x8
    digits or MNIST), fits a :class:`~skl_sparse_ae.StackedSparseAEClassifier`
    while showing its progress on standard error, prints a report (per
    stage: size, iterations, final loss, time; the test accuracy before and
    after fine-tuning; the BLAS library and its threads) on standard output,
    and writes the figures (``samples.png``, ``filters_layer1.png``,
    ``filters_layer2.png``, ``loss_curves.png``, ``reconstructions.png``) and
    ``results.json`` to the output folder. Run ``skl-sparse-ae --help`` for
    the options.

    Parameters
    ----------
    argv : list of str, default=None
        The command line arguments, without the program name. ``None`` reads
        them from ``sys.argv[1:]``.

    Returns
    -------
    exit_code : int
        0 on success (and for ``--help``), 1 if the data cannot be loaded or
        the fit fails, 2 for invalid arguments, 130 when interrupted with
        Ctrl-C. Errors are reported as a single line
        ``skl-sparse-ae: error: ...`` on standard error.

    See Also
    --------
    skl_sparse_ae.StackedSparseAEClassifier : The classifier being fitted.
    skl_sparse_ae.datasets.load_mnist : The MNIST loader.

    Examples
    --------
    A quick run on a subsample of the digits, without figures:

    >>> from skl_sparse_ae._cli import main
    >>> main(["--n-train", "300", "--hidden", "16", "8", "--quiet",
    ...       "--no-plots", "--output-dir", "/tmp/digits"])  # doctest: +SKIP
    stage                size        solver  iterations  final loss  ...
    ...
    Test accuracy before fine-tuning: 0.9...
    Test accuracy after fine-tuning:  0.9...
    ...
    0
    """
    out, err = sys.stdout, sys.stderr
    try:
        args = _parse_args(argv)
    except _UsageError as exc:
        _error(err, f"{exc} (see {PROG} --help)")
        return EXIT_USAGE
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK

    try:
        return _run(args, out, err)
    except KeyboardInterrupt:
        print("interrupted", file=err, flush=True)
        return EXIT_INTERRUPTED
    except (ValueError, OSError, ImportError, MemoryError, ArithmeticError) as exc:
        _error(err, exc)
        return EXIT_FAILURE
    finally:
        out.flush()
