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
estimators' per-iteration lines and ``--quiet`` leaves only the results.

The modules, in the order of a run: :mod:`.arguments` (the options, their
types, bounds and defaults read from the classifier), :mod:`.run` (data, fit,
results), :mod:`.progress` (the stages and what their solver runs report: the
one place that listens to the solvers), :mod:`.report` (the table and its
notes) and :mod:`.figures`.
"""

import sys

from .arguments import PROG, UsageError, parse_args
from .run import run

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


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

    >>> from skl_sparse_ae.cli import main
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
        args = parse_args(argv)
    except UsageError as exc:
        _error(err, f"{exc} (see {PROG} --help)")
        return EXIT_USAGE
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK

    try:
        return run(args, out, err)
    except KeyboardInterrupt:
        print("interrupted", file=err, flush=True)
        return EXIT_INTERRUPTED
    except (ValueError, OSError, ImportError, MemoryError, ArithmeticError) as exc:
        _error(err, exc)
        return EXIT_FAILURE
    finally:
        out.flush()
