"""Named configurations of the stacked classifier, for MNIST-sized data.

One place for the command line's ``--config`` and for
``benchmarks/bench_stacked_mnist.py``: each name maps to the
:class:`~skl_sparse_ae.StackedSparseAEClassifier` parameters that differ from
its defaults. The classifier's own defaults suit small data too (a constant
learning rate and no dropout over up to 200 epochs of fine-tuning); the
``default`` configuration is the command line's, for MNIST-sized data. The
user guide's table gives each one's accuracy and fit time on full MNIST,
measured with the benchmark.
"""

__all__ = ["CONFIGS", "config_params"]

CONFIGS = {
    "default": {
        "description": (
            "784-200-200-10, the classifier's defaults with denoising "
            "autoencoders (corruption 0.2, 10 adam epochs each) and 50 epochs "
            "of fine-tuning with dropout 0.2 and a cosine schedule"
        ),
        "params": {
            "corruption_level": 0.2,
            "pretrain_max_iter": 10,
            "fine_tune_learning_rate": "cosine",
            "fine_tune_max_iter": 50,
            "fine_tune_dropout": 0.2,
        },
    },
    "seed": {
        "description": (
            "the seed's network: 784-784-784-10, rho 0.05, plain sparse "
            "autoencoders (15 adam epochs each), no fine-tuning"
        ),
        "params": {
            "hidden_layer_sizes": (784, 784),
            "sparsity_target": 0.05,
            "corruption_level": 0.0,
            "pretrain_max_iter": 15,
            "fine_tune": False,
        },
    },
    "ufldl": {
        "description": (
            "the UFLDL tutorial's stacked autoencoder exercise: 784-200-200-10, "
            "rho 0.1, beta 3, lambda 3e-3, L-BFGS for 400 iterations in every "
            "stage"
        ),
        "params": {
            "hidden_layer_sizes": (200, 200),
            "sparsity_target": 0.1,
            "sparsity_weight": 3.0,
            "alpha": 3e-3,
            "corruption_level": 0.0,
            "pretrain_solver": "lbfgs",
            "pretrain_max_iter": 400,
            "softmax_max_iter": 400,
            "fine_tune_solver": "lbfgs",
            "fine_tune_max_iter": 400,
            "fine_tune_dropout": 0.0,
        },
    },
    "best": {
        "description": (
            "the most accurate network found that fits in 10 minutes on 2 "
            "cores: denoising autoencoders 784-800-800-10 (corruption 0.2, 10 "
            "adam epochs each), 80 epochs of fine-tuning with dropout 0.5 "
            "(0.2 on the inputs) and a cosine schedule"
        ),
        "params": {
            "hidden_layer_sizes": (800, 800),
            "corruption_level": 0.2,
            "pretrain_max_iter": 10,
            "fine_tune_learning_rate": "cosine",
            "fine_tune_max_iter": 80,
            "fine_tune_dropout": 0.5,
            "fine_tune_input_dropout": 0.2,
        },
    },
}


def config_params(name):
    """The parameters of configuration ``name`` (a new dict).

    Parameters
    ----------
    name : {"default", "seed", "ufldl", "best"}
        The configuration.

    Returns
    -------
    params : dict
        Keyword arguments of :class:`~skl_sparse_ae.StackedSparseAEClassifier`.
    """
    if name not in CONFIGS:
        raise ValueError(
            f"Unknown configuration {name!r}; choose one of {sorted(CONFIGS)}."
        )
    return dict(CONFIGS[name]["params"])
