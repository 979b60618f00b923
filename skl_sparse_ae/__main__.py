"""Run the stacked sparse autoencoder experiment: ``python -m skl_sparse_ae``."""

from .cli import main

if __name__ == "__main__":  # guard: pytest --doctest-modules imports this module
    raise SystemExit(main())
