"""The report: a table of the stages, the test accuracies and the closing notes.

Each stage's "stop" column is its solver's own status (see
:mod:`skl_sparse_ae.cli.progress`); the notes name what would help only for
the stages whose status calls for it; the accuracy after fine-tuning says
when fine-tuning lowered it.
"""

import math
import os

import numpy as np

from .._solvers import (
    CONVERGED,
    EARLY_STOPPING,
    INCREMENTAL,
    INTERRUPTED,
    LINE_SEARCH,
    MAX_FUN,
    MAX_ITER,
    NO_IMPROVEMENT,
)
from .arguments import OPTIONS

__all__ = [
    "closing_notes",
    "fine_tuning_remark",
    "converged",
    "format_report",
    "stage_record",
    "stop_label",
]

# The "stop" column: parameter names as they are, stopping rules in words.
STOP_LABELS = {
    CONVERGED: "converged",
    MAX_ITER: "max_iter",
    MAX_FUN: "max_fun",
    LINE_SEARCH: "line search",
    NO_IMPROVEMENT: "no improvement",
    EARLY_STOPPING: "early stopping",
    INTERRUPTED: "interrupted",
    INCREMENTAL: "partial_fit",
}
# Statuses of a run that stopped by its own rule, not at a limit.
_FINISHED = {CONVERGED, NO_IMPROVEMENT, EARLY_STOPPING, INCREMENTAL}


def stop_label(status):
    """The report's word for a solver status ("unknown" when none was given)."""
    return "unknown" if status is None else STOP_LABELS.get(status, str(status))


def converged(stages):
    """Whether every stage stopped by its own rule (not a limit nor Ctrl-C)."""
    return all(stage.status in _FINISHED for stage in stages)


def stage_record(stage):
    """A stage as results.json holds it."""
    return {
        "stage": stage.name,
        "size": stage.size,
        "solver": stage.solver,
        "n_iter": stage.n_iter,
        "max_iter": stage.max_iter,
        "final_loss": stage.loss,
        "seconds": round(stage.seconds, 3),
        "stop": stop_label(stage.status),
        "status": stage.status,
    }


def _names(stages):
    names = [stage.name for stage in stages]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def closing_notes(stages):
    """The notes after the report on why stages stopped, one line each.

    None when every stage stopped by its own rule.
    """
    notes = []
    stopped = {
        status: [stage for stage in stages if stage.status == status]
        for status in (MAX_ITER, MAX_FUN, LINE_SEARCH, INTERRUPTED)
    }
    if stopped[MAX_ITER]:
        options = [OPTIONS.get(stage.max_iter_param) for stage in stopped[MAX_ITER]]
        options = list(dict.fromkeys(option for option in options if option))
        hint = f"increase {' or '.join(options)}" if options else "no option sets it"
        notes.append(
            "note: the solver stopped at max_iter before converging in "
            f"{_names(stopped[MAX_ITER])} ({hint})"
        )
    if stopped[MAX_FUN]:
        notes.append(
            "note: L-BFGS stopped at its limit of loss evaluations (max_fun) "
            f"before converging in {_names(stopped[MAX_FUN])}"
        )
    if stopped[LINE_SEARCH]:
        notes.append(
            f"note: the line search of L-BFGS stopped {_names(stopped[LINE_SEARCH])}: "
            "no step lowered the loss enough, which is normal near a minimum at "
            "float32 precision; more iterations would not help"
        )
    if stopped[INTERRUPTED]:
        notes.append(f"note: Ctrl-C interrupted {_names(stopped[INTERRUPTED])}")
    return notes


def fine_tuning_remark(accuracy_before, accuracy_after):
    """What follows the accuracy after fine-tuning: a remark when it is lower."""
    if accuracy_after < accuracy_before:
        return " (fine-tuning lowered the test accuracy)"
    return ""


def format_report(stages, accuracy_before, accuracy_after, blas_line):
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
            stop_label(stage.status),
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
        lines.append(
            f"Test accuracy after fine-tuning:  {accuracy_after:.4f}"
            + fine_tuning_remark(accuracy_before, accuracy_after)
        )
    lines.append(blas_line)
    return lines


def blas_line(blas):
    """One line naming the BLAS libraries and their threads."""
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


def json_safe(value):
    """``value`` with numpy types as Python's and non-finite floats as None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return json_safe(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)
