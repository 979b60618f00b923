"""The experiment's figures: Fig. 1-3, the loss curves and the reconstructions."""

import numpy as np

from .report import stop_label

__all__ = ["write_figures"]


def reconstruction_samples(X, y, n_samples=10):
    """Row indices of up to ``n_samples`` samples, the first of each class first."""
    classes = np.unique(y)
    first = [int(np.flatnonzero(y == c)[0]) for c in classes]
    rest = [i for i in range(len(y)) if i not in set(first)]
    return (first + rest)[:n_samples]


def loss_curves_figure(stages, plot_loss_curves):
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
        ax.set_title(
            f"{stage.name}\n{stage.size}, {stop_label(stage.status)}", fontsize="medium"
        )
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def write_figures(clf, data, stages, output_dir, notice):
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

    from ..plotting import (
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
        ("loss_curves.png", lambda: loss_curves_figure(stages, plot_loss_curves))
    )
    figures.append(
        (
            "reconstructions.png",
            lambda: plot_reconstructions(
                clf,
                X_test[reconstruction_samples(X_test, y_test)],
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
