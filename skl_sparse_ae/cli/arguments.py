"""The command's arguments, and the classifier they describe.

An option that sets a classifier parameter takes its type, bounds and choices
from :attr:`StackedSparseAEClassifier._parameter_constraints`, and its
default from the classifier under ``--config default`` (``get_params()`` of
a default instance): ``None`` in the parsed arguments means "the estimator's
default", and --help shows that default. :data:`OPTIONS` maps each such
parameter to its option, for the report's notes.
"""

import argparse
import math
import textwrap
from numbers import Integral
from pathlib import Path

from sklearn.utils._param_validation import Interval, StrOptions

from .. import __version__
from .._configs import CONFIGS, config_params
from .._stacked import StackedSparseAEClassifier

__all__ = ["OPTIONS", "UsageError", "build_parser", "make_classifier", "parse_args"]

PROG = "skl-sparse-ae"
CONSTRAINTS = StackedSparseAEClassifier._parameter_constraints
DEFAULTS = {**StackedSparseAEClassifier().get_params(), **config_params("default")}
# The digits' training, unless --pretrain-solver/--pretrain-max-iter say
# otherwise: 1347 images are too few minibatches for adam to train an
# autoencoder (its filters stay noise), while UFLDL's full-batch L-BFGS draws
# stroke filters in seconds; L-BFGS sees one fixed objective, so a denoising
# autoencoder would see a single corrupted copy of the images. Fine-tuning
# stops by early stopping. MNIST keeps --config's parameters.
# docs/performance.rst ("The command line on the digits") has the figures.
DATASET_PARAMS = {
    "digits": {
        "pretrain_solver": "lbfgs",
        "pretrain_max_iter": 2000,
        "corruption_level": 0.0,
        "fine_tune_early_stopping": True,
    }
}
_PRETRAINING = ("pretrain_solver", "pretrain_max_iter", "corruption_level")
# BLAS threads without --threads: one for the digits' small matrices, where a
# second thread costs more than it brings; MNIST keeps the BLAS default.
BLAS_THREADS = {"digits": 1}
# The options that set a classifier parameter: parameter -> option.
OPTIONS = {
    "hidden_layer_sizes": "--hidden",
    "sparsity_target": "--sparsity-target",
    "sparsity_weight": "--sparsity-weight",
    "alpha": "--alpha",
    "corruption_level": "--corruption-level",
    "fine_tune_dropout": "--dropout",
    "fine_tune": "--fine-tune",
    "pretrain_solver": "--pretrain-solver",
    "pretrain_max_iter": "--pretrain-max-iter",
    "softmax_max_iter": "--softmax-max-iter",
    "fine_tune_max_iter": "--max-iter",
    "fine_tune_early_stopping": "--early-stopping",
}

EPILOG = """\
examples:
  skl-sparse-ae
      8x8 scikit-learn digits with the default network; writes results/digits/
  skl-sparse-ae --dataset mnist --mnist-dir ~/data/mnist --hidden 200 200 \\
      --output-dir results/mnist
      MNIST from the four IDX files (train-images-idx3-ubyte[.gz], ...)
"""
DESCRIPTION = (
    "Run the stacked sparse autoencoder experiment: greedy layer-wise "
    "pretraining of sparse autoencoders, a softmax layer on top, then "
    "(optionally) fine-tuning of the whole network by backpropagation. Shows "
    "the progress of each stage on standard error (a progress bar in a "
    "terminal with tqdm installed, else one line per stage), prints a report "
    "(each stage's size, iterations, final loss, time and why it stopped, the "
    "test accuracy before and after fine-tuning, the BLAS library) on "
    "standard output, and writes samples.png (Fig. 1), filters_layer1.png "
    "(Fig. 2), filters_layer2.png (Fig. 3), loss_curves.png, "
    "reconstructions.png and results.json to the output folder."
)


class UsageError(Exception):
    """Bad command line arguments (exit code 2)."""


class _ArgumentParser(argparse.ArgumentParser):
    """ArgumentParser whose errors raise instead of printing and exiting."""

    def error(self, message):
        raise UsageError(message)


def _bounds(interval):
    left = "[" if interval.closed in ("left", "both") else "("
    right = "]" if interval.closed in ("right", "both") else ")"
    low = "-inf" if interval.left is None else interval.left
    high = "inf" if interval.right is None else interval.right
    return f"{left}{low}, {high}{right}"


def interval_type(interval):
    """argparse ``type=``: a number that satisfies ``interval``, else its error."""
    integral = issubclass(interval.type, Integral)
    bounds = _bounds(interval)

    def convert(text):
        try:
            value = int(text) if integral else float(text)
        except ValueError:
            kind = "an integer" if integral else "a number"
            raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
        if not math.isfinite(value) or value not in interval:
            raise argparse.ArgumentTypeError(f"must lie in {bounds}, got {text}")
        return value

    return convert


def _constraint(param, kind):
    return next((c for c in CONSTRAINTS[param] if isinstance(c, kind)), None)


def _shown(value):
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (tuple, list)):
        return " ".join(str(v) for v in value)
    return str(value)


def _estimator_option(group, param, help, **kwargs):
    """The option of classifier parameter ``param``, checked by its constraints."""
    interval, options = _constraint(param, Interval), _constraint(param, StrOptions)
    if interval is not None:
        kwargs["type"] = interval_type(interval)
        if not issubclass(interval.type, Integral):  # counts need no bounds
            help = f"{help}, in {_bounds(interval)}"
    if options is not None:
        kwargs["choices"] = sorted(options.options)
    default = _shown(DEFAULTS[param])
    if param in DATASET_PARAMS["digits"]:
        digits = _shown(DATASET_PARAMS["digits"][param])
        default = f"{digits} for digits, {default} for mnist"
    group.add_argument(
        OPTIONS[param], dest=param, help=f"{help} (default: {default})", **kwargs
    )


_positive_int = interval_type(Interval(Integral, 1, None, closed="left"))


def _add_data_options(parser):
    data = parser.add_argument_group("data")
    data.add_argument(
        "--dataset",
        choices=("digits", "mnist"),
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
        help=(
            "train on the first N training samples after shuffling them with "
            "--random-state, for quick runs (default: all)"
        ),
    )


def _add_model_options(parser):
    model = parser.add_argument_group("model")
    configs = "; ".join(f"{name}: {c['description']}" for name, c in CONFIGS.items())
    model.add_argument(
        "--config",
        choices=tuple(CONFIGS),
        default="default",
        help=(
            f"named configuration of the classifier, which the options below "
            f"adjust: {configs} (default: default). The user guide gives each "
            "one's accuracy and fit time on MNIST."
        ),
    )
    option = _estimator_option
    hidden = "units of each hidden layer, input side first"
    option(model, "hidden_layer_sizes", hidden, nargs="+", metavar="UNITS")
    rho = "target mean activation rho of each hidden unit"
    option(model, "sparsity_target", rho, metavar="RHO")
    beta = "weight beta of the KL sparsity penalty"
    option(model, "sparsity_weight", beta, metavar="BETA")
    decay = "weight decay lambda of the autoencoders"
    option(model, "alpha", decay, metavar="LAMBDA")
    corruption = (
        "masking noise of the denoising autoencoders: the fraction of each "
        "autoencoder's inputs set to 0 during pretraining"
    )
    option(model, "corruption_level", corruption, metavar="LEVEL")
    dropout = "dropout rate of the hidden units during fine-tuning"
    option(model, "fine_tune_dropout", dropout, metavar="RATE")


def _add_training_options(parser):
    training = parser.add_argument_group("training")
    option = _estimator_option
    fine_tune = (
        "fine-tune the whole network after pretraining and the softmax layer; "
        "--no-fine-tune stops before, as in the seed experiment, and as "
        "--config seed does"
    )
    boolean = argparse.BooleanOptionalAction
    option(training, "fine_tune", fine_tune, action=boolean)
    solver = "solver of each autoencoder; UFLDL uses lbfgs"
    option(training, "pretrain_solver", solver)
    pretrain = "iterations (lbfgs) or epochs (adam, sgd) of each autoencoder"
    option(training, "pretrain_max_iter", pretrain, metavar="N")
    softmax = "iterations of the softmax layer's L-BFGS"
    option(training, "softmax_max_iter", softmax, metavar="N")
    epochs = "epochs (iterations with lbfgs) of fine-tuning"
    option(training, "fine_tune_max_iter", epochs, metavar="N")
    early = (
        "hold out 10%% of the training data and stop fine-tuning when their "
        "accuracy stops improving, keeping the best weights"
    )
    option(training, "fine_tune_early_stopping", early, action=boolean)
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
        help=(
            "limit the BLAS threads; 1 is much faster for small networks or on "
            "a busy machine (default: 1 for digits; for mnist the BLAS default, "
            "e.g. OMP_NUM_THREADS)"
        ),
    )


def _add_output_options(parser):
    output = parser.add_argument_group("output")
    output.add_argument(
        "--output-dir",
        metavar="PATH",
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


def build_parser():
    """The command's argument parser."""
    parser = _ArgumentParser(
        prog=PROG,
        description=textwrap.fill(DESCRIPTION, width=79),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_data_options(parser)
    _add_model_options(parser)
    _add_training_options(parser)
    _add_output_options(parser)
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    return parser


def parse_args(argv):
    """The parsed arguments, with the dataset's defaults filled in."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.dataset is None:
        args.dataset = "mnist" if args.mnist_dir is not None else "digits"
    elif args.dataset != "mnist" and args.mnist_dir is not None:
        parser.error("--mnist-dir can only be used with --dataset mnist")
    if args.output_dir is None:
        args.output_dir = str(Path("results") / args.dataset)
    if args.threads is None:
        args.threads = BLAS_THREADS.get(args.dataset)
    return args


def make_classifier(args):
    """The classifier: --config, then the dataset's adjustments, then the options."""
    params = config_params(args.config)
    params.update(random_state=args.random_state, verbose=int(args.verbose))
    dataset = dict(DATASET_PARAMS.get(args.dataset, {}))
    # the pretraining's adjustments only where neither the configuration nor
    # the options choose a solver
    if (
        "pretrain_solver" in params
        or args.pretrain_solver is not None
        or args.pretrain_max_iter is not None
    ):
        dataset = {k: v for k, v in dataset.items() if k not in _PRETRAINING}
    params.update(dataset)
    for param in OPTIONS:
        value = getattr(args, param)
        if value is not None:
            params[param] = tuple(value) if isinstance(value, list) else value
    return StackedSparseAEClassifier(**params)
