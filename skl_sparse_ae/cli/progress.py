"""The stages of a fit and what their solver runs report.

All contact with the solvers' progress events is in this module:
:class:`Progress` receives each run's ``start``, ``iteration`` and ``end``
calls, and :func:`follow` attaches it to a fit (as a callback of the
estimator, :class:`skl_sparse_ae._callbacks.ProgressEvents`). Each ``start`` begins
the next stage of those :func:`foresee_stages` predicts from the classifier's
parameters; a run beyond them becomes a stage "extra run N". A stage's
``status`` is the solver's own stop reason (one of
:data:`skl_sparse_ae._solvers.STOP_REASONS`).
"""

import contextlib
import math
import shutil
import time
import warnings

from sklearn.exceptions import ConvergenceWarning

from .._callbacks import ProgressEvents
from .._solvers import INTERRUPT_MESSAGE, INTERRUPTED

__all__ = ["Progress", "Stage", "follow", "foresee_stages", "progress_mode"]


class Stage:
    """One solver run of the fit, as the report shows it.

    ``max_iter_param`` names the classifier parameter that bounds the run
    (None for a run the command did not foresee).
    """

    def __init__(self, name, size="", solver="", max_iter_param=None):
        self.name = name
        self.size = size
        self.solver = solver
        self.max_iter_param = max_iter_param
        self.unit = "epochs" if solver in ("adam", "sgd") else "iterations"
        self.max_iter = None
        self.n_iter = 0
        self.loss = math.nan
        self.loss_curve = []
        self.seconds = 0.0
        self.status = None  # the solver's stop reason, once the run ended
        self.interrupt_warned = False
        self._start = None


def foresee_stages(clf, n_features, n_classes):
    """The stages of ``clf.fit``, in the order their solvers run."""
    sizes = (n_features, *(int(n) for n in clf.hidden_layer_sizes))
    stages = [
        Stage(
            f"pretraining layer {k + 1}",
            f"{n_in} -> {n_out}",
            clf.pretrain_solver,
            "pretrain_max_iter",
        )
        for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]))
    ]
    stages.append(
        Stage("softmax", f"{sizes[-1]} -> {n_classes}", "lbfgs", "softmax_max_iter")
    )
    if clf.fine_tune:
        network = "-".join(str(n) for n in (*sizes, n_classes))
        stages.append(
            Stage("fine-tuning", network, clf.fine_tune_solver, "fine_tune_max_iter")
        )
    return stages


class Progress:
    """Follows the solver runs of one fit and shows them on ``stream``.

    ``mode`` is "bar" (a live tqdm bar per stage), "lines" (a summary line
    per stage when it ends) or "off". Whatever the mode, each stage keeps its
    iterations, losses, time and status for the report and the loss curves.
    """

    def __init__(self, stages, stream=None, mode="off", tqdm=None):
        self.stages = list(stages)
        self.stream = stream
        self.mode = mode
        self._tqdm = tqdm
        self._bar = None
        self._n_started = 0
        self._running = None

    @property
    def ran(self):
        """The stages whose run started, in order."""
        return self.stages[: self._n_started]

    @property
    def interrupted(self):
        """Whether a run ended with the status "interrupted" (Ctrl-C)."""
        return any(stage.status == INTERRUPTED for stage in self.ran)

    def start(self, max_iter):
        if self._n_started == len(self.stages):
            n_extra = sum(s.max_iter_param is None for s in self.stages) + 1
            self.stages.append(Stage(f"extra run {n_extra}"))
        stage = self._running = self.stages[self._n_started]
        self._n_started += 1
        stage.max_iter = int(max_iter)
        stage._start = time.perf_counter()
        if self.mode == "bar":
            columns, lines = shutil.get_terminal_size((100, 24))
            width = max(len(s.name) for s in self.stages)
            self._bar = self._tqdm(
                total=stage.max_iter,
                desc=f"{stage.name}:".ljust(width + 1),
                bar_format="{desc} {percentage:3.0f}%|{bar}{r_bar}",
                unit="epoch" if stage.unit == "epochs" else "it",
                file=self.stream,
                leave=True,
                # tqdm draws nothing in a terminal that reports a size of 0
                # (a pseudo-terminal without one, as script(1) makes)
                ncols=columns or 100,
                nrows=lines or 24,
                mininterval=0.2,
            )

    def iteration(self, n_iter, loss):
        stage = self._running
        if stage is None:
            return
        stage.n_iter, stage.loss = int(n_iter), float(loss)
        stage.loss_curve.append(float(loss))
        if self._bar is not None:
            self._bar.set_postfix_str(f"loss={loss:.4g}", refresh=False)
            self._bar.update(n_iter - self._bar.n)

    def end(self, n_iter, loss, status=None):
        stage, self._running = self._running, None
        if stage is None:
            return
        stage.n_iter, stage.loss = int(n_iter), float(loss)
        stage.seconds = time.perf_counter() - stage._start
        # a solver that gives no status but warned of Ctrl-C was interrupted
        stage.status = status or (INTERRUPTED if stage.interrupt_warned else None)
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

    def interrupt_warning(self):
        """The solver warned that Ctrl-C stopped its run (the fallback path).

        Inside a run, its end's status decides; outside any run there is
        nothing to wait for: stop now.
        """
        if self._running is None:
            raise KeyboardInterrupt
        self._running.interrupt_warned = True

    def close(self):
        """Close the live bar, if any (also when the fit fails)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


@contextlib.contextmanager
def follow(progress, estimator=None):
    """Report the solver runs of ``estimator``'s fit inside the block to ``progress``.

    ConvergenceWarnings are not shown: each stage's status says why it
    stopped, and the report's notes say what would help. A run the solver
    ended on Ctrl-C (status "interrupted") stops the command: KeyboardInterrupt
    once the block is done. The bar is closed however the block ends.
    """

    calls = {"start": progress.start, "iteration": progress.iteration}
    calls["end"] = progress.end

    def hook(event, **info):
        if event in calls:
            calls[event](**info)

    def show(message, category, filename, lineno, file=None, line=None):
        if str(message).startswith(INTERRUPT_MESSAGE):
            progress.interrupt_warning()
            return
        previous(message, category, filename, lineno, file, line)

    if estimator is not None:
        estimator.set_callbacks(ProgressEvents(hook))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.filterwarnings("always", message=INTERRUPT_MESSAGE)
            previous, warnings.showwarning = warnings.showwarning, show
            yield progress
    finally:
        if estimator is not None:
            estimator.set_callbacks()
        progress.close()
    if progress.interrupted:
        raise KeyboardInterrupt


def _import_tqdm():
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


def is_terminal(stream):
    """Whether ``stream`` is a terminal (False for a closed or odd stream)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def progress_mode(args, err):
    """ "bar", "lines" or "off", and tqdm's class for "bar"."""
    if args.quiet:
        return "off", None
    if args.verbose or not is_terminal(err):
        return "lines", None
    tqdm = _import_tqdm()
    if tqdm is None:
        return "lines", None
    return "bar", tqdm
