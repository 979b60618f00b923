"""Sparse autoencoders for scikit-learn.

The classic sparse autoencoder (KL-divergence sparsity, weight decay) as a
transformer, greedy layer-wise stacks of them under a softmax classifier,
fine-tuned by backpropagation, and the modern TopK sparse autoencoder
(dictionary atoms with k active codes per sample).
"""

from ._autoencoder import SparseAE, SparseAutoencoderTransformer
from ._stacked import StackedSparseAEClassifier
from ._topk import TopKSAE, TopKSparseAutoencoder

__version__ = "0.1.0"

__all__ = [
    "SparseAE",
    "SparseAutoencoderTransformer",
    "StackedSparseAEClassifier",
    "TopKSAE",
    "TopKSparseAutoencoder",
    "__version__",
]
