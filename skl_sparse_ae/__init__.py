"""Sparse autoencoders for scikit-learn.

The classic sparse autoencoder (KL-divergence sparsity, weight decay) as a
transformer, and greedy layer-wise stacks of them under a softmax classifier,
fine-tuned by backpropagation.
"""

from ._autoencoder import SparseAE, SparseAutoencoderTransformer
from ._stacked import StackedSparseAEClassifier

__version__ = "0.1.0"

__all__ = [
    "SparseAE",
    "SparseAutoencoderTransformer",
    "StackedSparseAEClassifier",
    "__version__",
]
