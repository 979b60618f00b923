"""TopKSparseAutoencoder: validate, hand the TopK objective to a solver, store."""

import copy
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import start_fit, unchanged_on_failure
from ._callbacks import CallbackSupport, with_callbacks
from ._params import pack, unpack
from ._solver_params import (
    MINIBATCH_SOLVERS,
    solver_parameters,
    store_solver_parameters,
)
from ._topk_objective import (
    SPARSITY,
    LatentStats,
    SparsitySettings,
    check_matryoshka_prefixes,
    decode,
    encode,
    fraction_of_variance_unexplained,
    init_parameters,
    make_projection,
    make_training_objective,
    mean_variance,
    model_shapes,
)

__all__ = ["TopKSAE", "TopKSparseAutoencoder"]

# rows encoded at a time by transform, score and activation_frequency_
_CHUNK_SIZE = 4096


def _encode_in_chunks(X, params, sparsity, threshold):
    chunks = [
        encode(X[start : start + _CHUNK_SIZE], params, sparsity, threshold)
        for start in range(0, X.shape[0], _CHUNK_SIZE)
    ]
    if len(chunks) == 1:
        return chunks[0]
    return sp.vstack(chunks, format="csr")


@solver_parameters(
    solvers=MINIBATCH_SOLVERS,
    exclude=("max_fun",),
    docs={
        "max_iter": "Epochs at most.",
        "tol": "Stop when the loss (or the validation score, with\n"
        "``early_stopping``) improves by less than ``tol`` for\n"
        "``n_iter_no_change`` consecutive epochs.",
        "warm_start": "Start ``fit`` from the previous solution, optimiser state and\n"
        "dead-latent counts instead of a new initialisation.",
    },
)
class TopKSparseAutoencoder(
    CallbackSupport, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """TopK sparse autoencoder: a dictionary of unit-norm atoms and sparse codes.

    The modern sparse autoencoder of Gao et al. (2024)::

        z     = ReLU(TopK_k((x - b_dec) @ W_enc + b_enc))
        x_hat = z @ W_dec + b_dec

    Each row is encoded by its ``k`` largest pre-activations (at most ``k``
    non-zero codes; fewer only where a pre-activation is not positive) and
    reconstructed as a sparse combination of the rows of ``W_dec``, the
    dictionary atoms (``components_``), kept at unit norm. Training minimises
    the reconstruction error (the fraction of variance unexplained by
    default) plus ``aux_weight`` times the auxiliary AuxK loss, which makes
    dead latents (not active over the last ``dead_after`` training rows)
    reconstruct the residual, so that they come back to life.
    ``transform`` returns the codes ``z``.

    Read more in the :ref:`User Guide <topk_user_guide>`.

    Parameters
    ----------
    n_components : int, default=128
        Number of latents h (dictionary atoms).
    k : int, default=16
        Active latents per row (``sparsity="topk"``), or per row on average
        over a training batch (``"batch_topk"``, ``"matryoshka_batch_topk"``).
        Ignored by ``"l1"`` and ``"jumprelu"``. A k
        above ``n_components`` acts as ``n_components`` (every latent active).
    sparsity : str, default="topk"
        The rule giving the codes, one of:

        - ``"topk"``: the k largest pre-activations of each row, in training
          and at transform.
        - ``"batch_topk"``: in training, the ``k * batch_size`` largest
          pre-activations of the whole batch (Bussmann et al., 2024); at
          transform, latent j is active where its pre-activation exceeds
          ``threshold_[j]``, learned in training, so each row is encoded on
          its own.
        - ``"matryoshka_batch_topk"``: BatchTopK's codes, trained so that
          each prefix ``matryoshka_prefixes`` of the dictionary reconstructs
          the input on its own (Bussmann et al., 2025): the loss is the mean
          over the prefixes of their datafit, and the first latents become
          the general features. ``transform`` as ``"batch_topk"``.
        - ``"l1"``: ``ReLU`` codes with an L1 penalty weighted by the decoder
          row norms (``l1_weight``); the decoder rows are not normalised.
        - ``"jumprelu"``: ``z = pre * (pre > threshold_)`` with a threshold
          per latent learned with an L0 penalty (``l0_weight``) through
          straight-through estimators (Rajamanoharan et al., 2024); the
          number of active latents is not fixed.
    k_aux : int or "auto", default="auto"
        Latents of the AuxK reconstruction (at most the number of dead
        latents); ``"auto"`` is ``n_features // 2`` (at least 1).
    aux_weight : float, default=1/32
        Weight of the AuxK loss; 0 switches it off.
    dead_after : int, default=10000
        A latent is dead when it was not active on any of the last
        ``dead_after`` training rows seen (counted in whole batches, across
        epochs and ``partial_fit`` calls).
    l1_weight : float, default=0.3
        Weight of the L1 penalty of ``sparsity="l1"``: the penalty is
        ``l1_weight * mean_i sum_j z_ij ||W_dec[j]||`` divided by
        ``sqrt(n_features * v)`` (the typical norm of a centred row) and in the
        units of the loss, so it does not depend on the data's scale.
    l0_weight : float, default=1e-2
        Weight of the L0 penalty of ``sparsity="jumprelu"``,
        ``l0_weight * mean_i sum_j H(pre_ij - threshold_j)``, in the units of
        the FVU (multiplied by the mean variance v with ``loss="mse"``): one
        active latent a row costs as much as ``l0_weight`` of variance
        unexplained. Under Adam the threshold moves about
        ``learning_rate_init`` a step whatever the weight, so the L0 falls
        with the weight down to a floor set by the number of steps (on the
        digits, 64 latents, 20 epochs: L0 57, 15 and 8.5 for 1e-3, 1e-2 and
        1e-1).
    jumprelu_bandwidth : float, default=0.05
        Bandwidth eps of the rectangle kernel of ``"jumprelu"``'s
        straight-through estimators, in units of ``sqrt(v)`` (the typical
        spread of a feature of the first training data): theta gets a
        gradient from the pre-activations within ``eps / 2`` of it.
    jumprelu_threshold_init : float, default=0.1
        Initial threshold of every latent with ``"jumprelu"``, in units of
        ``sqrt(v)``.
    jumprelu_threshold_space : {"linear", "log"}, default="linear"
        What ``"jumprelu"`` trains: the threshold itself, kept at least 0
        after each step, or its logarithm (the paper's appendix). Linear is
        the default because it trains the L0 down where log space does not:
        Adam moves ``log(theta)`` by about ``learning_rate_init`` a step, so
        theta changes by a factor ``exp(+-lr)`` a step and stays near its
        start. On the digits (64 latents, 20 epochs, 3 seeds) the median
        threshold moved 2.6x, 8.2x and 12x (L0 57, 15, 8.5 of 64) for
        ``l0_weight`` 1e-3, 1e-2, 1e-1 in linear space, and 1.1x to 1.3x
        (L0 63, 62, 61) in log space; on 5000 MNIST images (256 latents,
        10 epochs) L0 95, 34, 31 in linear space and 250 for every weight
        in log space (``benchmarks/bench_jumprelu_threshold.py``; SAELens
        issues 494, 718, 719).
        ``threshold_`` is linear either way.
    matryoshka_prefixes : array-like of int or None, default=None
        The nested prefixes of ``"matryoshka_batch_topk"``, strictly
        increasing positive numbers of latents, at most ``n_components``;
        ``n_components`` is added as the last prefix when it is not there
        (the whole dictionary always reconstructs). None means
        ``(n_components // 16, n_components // 4, n_components)`` (the
        empty and repeated ones dropped). Ignored by the other rules.
    loss : {"fvu", "mse"}, default="fvu"
        The datafit: the mean squared error over all entries (``"mse"``), or
        that divided by the mean variance v of the features of the first
        training data (``"fvu"``, the fraction of variance unexplained).
    decoder_bias_init : {"geometric_median", "mean"}, default="geometric_median"
        Initial ``b_dec``: the geometric median of (at most 4096 rows of) the
        training data, as in Gao et al., or its mean.
    sparse_output : bool, default=False
        Return ``transform``'s codes as a ``scipy.sparse`` CSR matrix instead
        of a dense array: memory ``O(n_samples * k)`` instead of
        ``O(n_samples * n_components)``, for wide dictionaries. Dense output
        is needed by ``set_output(transform="pandas")``.
    {solver_parameters}

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The dictionary: the decoder's rows ``W_dec``, unit norm (except with
        ``sparsity="l1"``). The same array as ``coefs_[1]``.
    coefs_ : list of ndarray
        ``[W_enc, W_dec]``, shapes (n_features, n_components) and
        (n_components, n_features).
    intercepts_ : list of ndarray
        ``[b_enc, b_dec]``, shapes (n_components,) and (n_features,).
    threshold_ : ndarray of shape (n_components,) or None
        The per-latent thresholds used by ``transform``, in pre-activation
        units: for ``"batch_topk"`` and ``"matryoshka_batch_topk"`` learned
        from the selected values (``inf`` for a latent never selected in
        training); for ``"jumprelu"`` the learned theta (linear, also when
        trained in log space), ``transform`` giving
        ``pre * (pre > threshold_)``. None otherwise.
    activation_frequency_ : ndarray of shape (n_components,)
        Fraction of the rows of the (last) training data on which each latent
        is non-zero under ``transform`` with the final weights.
    n_dead_components_ : int
        Latents dead at the end of training (not active over the last
        ``dead_after`` training rows seen), the definition AuxK uses.
    loss_ : float
        Mean training loss (datafit, penalty and AuxK) over the last epoch's
        minibatches.
    loss_curve_ : list of float
        The loss after each epoch.
    best_loss_ : float
        Smallest epoch loss.
    validation_scores_ : list of float or None
        Validation score per epoch with ``early_stopping``.
    best_validation_score_ : float or None
        Best of ``validation_scores_``.
    n_iter_ : int
        Epochs run.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    SparseAutoencoderTransformer : The classic sparse autoencoder (sigmoid
        units, KL sparsity).
    sklearn.decomposition.MiniBatchDictionaryLearning : Dictionary learning
        with codes found by an optimisation (OMP, Lasso) per row.

    Notes
    -----
    ``TopKSAE`` is another name for this class. The gradient of each step is
    exact for the active set the batch selects; its component parallel to
    each decoder row is removed and the rows are renormalised after each
    step. The encoder starts as the transpose of the decoder, whose rows are
    random directions.

    With ``"jumprelu"`` the threshold theta gets the straight-through
    pseudo-gradients ``d z / d theta = -(theta / eps) K((pre - theta) / eps)``
    and ``d H / d theta = -(1 / eps) K((pre - theta) / eps)``,
    ``K(u) = 1{|u| < 1/2}``; the encoder gets the plain gradient on the active
    set only. The decoder rows stay at unit norm, as for TopK: the L0 does
    not depend on their norms, and dictionary_learning's JumpReLU trainer
    keeps them at unit norm too (SAELens instead weights by, or folds in, the
    norms); so ``threshold_`` is in the units of the codes. The Matryoshka
    loss averages the prefixes' datafits (dictionary_learning's equal
    weights; SAELens sums them, the same up to the weight of AuxK).

    References
    ----------
    L. Gao et al., "Scaling and evaluating sparse autoencoders", 2024.
    B. Bussmann, P. Leask and N. Nanda, "BatchTopK sparse autoencoders",
    2024. Anthropic, "Circuits updates - April 2024" (the L1 penalty
    weighted by decoder norms). S. Rajamanoharan et al., "Jumping ahead:
    improving reconstruction fidelity with JumpReLU sparse autoencoders",
    2024. B. Bussmann et al., "Learning multi-level features with
    Matryoshka sparse autoencoders", 2025.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skl_sparse_ae import TopKSAE
    >>> X = load_digits().data / 16
    >>> sae = TopKSAE(n_components=64, k=8, max_iter=20, random_state=0).fit(X)
    >>> codes = sae.transform(X)
    >>> codes.shape
    (1797, 64)
    >>> int((codes != 0).sum(axis=1).max())
    8
    >>> bool(sae.score(X) > -0.5)  # minus the fraction of variance unexplained
    True
    """

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "k": [Interval(Integral, 1, None, closed="left")],
        "sparsity": [StrOptions(set(SPARSITY))],
        "k_aux": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "aux_weight": [Interval(Real, 0, None, closed="left")],
        "dead_after": [Interval(Integral, 1, None, closed="left")],
        "l1_weight": [Interval(Real, 0, None, closed="left")],
        "l0_weight": [Interval(Real, 0, None, closed="left")],
        "jumprelu_bandwidth": [Interval(Real, 0, None, closed="neither")],
        "jumprelu_threshold_init": [Interval(Real, 0, None, closed="neither")],
        "jumprelu_threshold_space": [StrOptions({"linear", "log"})],
        "matryoshka_prefixes": [None, "array-like"],
        "loss": [StrOptions({"fvu", "mse"})],
        "decoder_bias_init": [StrOptions({"geometric_median", "mean"})],
        "sparse_output": ["boolean"],
    }

    def __init__(
        self,
        n_components=128,
        *,
        k=16,
        sparsity="topk",
        k_aux="auto",
        aux_weight=1 / 32,
        dead_after=10000,
        l1_weight=0.3,
        l0_weight=1e-2,
        jumprelu_bandwidth=0.05,
        jumprelu_threshold_init=0.1,
        jumprelu_threshold_space="linear",
        matryoshka_prefixes=None,
        loss="fvu",
        decoder_bias_init="geometric_median",
        sparse_output=False,
        **solver_params,
    ):
        self.n_components = n_components
        self.k = k
        self.sparsity = sparsity
        self.k_aux = k_aux
        self.aux_weight = aux_weight
        self.dead_after = dead_after
        self.l1_weight = l1_weight
        self.l0_weight = l0_weight
        self.jumprelu_bandwidth = jumprelu_bandwidth
        self.jumprelu_threshold_init = jumprelu_threshold_init
        self.jumprelu_threshold_space = jumprelu_threshold_space
        self.matryoshka_prefixes = matryoshka_prefixes
        self.loss = loss
        self.decoder_bias_init = decoder_bias_init
        self.sparse_output = sparse_output
        store_solver_parameters(self, solver_params)

    # -- fitting --------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    @with_callbacks
    def fit(self, X, y=None, sample_weight=None):
        """Fit the autoencoder to X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored; present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples: every mean over the rows of
            a batch in the objective (the datafit, the L1 penalty and AuxK)
            becomes the weighted mean, and the variance of the ``"fvu"``
            loss is the weighted variance, and ``decoder_bias_init="mean"``
            is the weighted mean. With ``sparsity="topk"`` or
            ``"l1"``, integer weights give each batch the objective of its
            rows repeated that many times; BatchTopK's selection of the batch's
            ``k * m`` largest pre-activations counts rows, not weights. None
            weighs every sample 1.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        with unchanged_on_failure(self):
            return self._fit(X, incremental=False, sample_weight=sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    @with_callbacks
    def partial_fit(self, X, y=None, sample_weight=None):
        """Run one epoch over X, continuing from the current state.

        The first call initialises the model from X (``b_dec``, the loss's
        variance); later calls keep it, with the optimiser's state and the
        dead-latent counts.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            One chunk of training data.
        y : None
            Ignored; present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples (see :meth:`fit`).

        Returns
        -------
        self : object
            The updated transformer.
        """
        with unchanged_on_failure(self):
            return self._fit(X, incremental=True, sample_weight=sample_weight)

    def _fit(self, X, incremental, sample_weight=None):
        fit = start_fit(self, X, incremental=incremental, sample_weight=sample_weight)
        X, sample_weight, rng = fit.X, fit.sample_weight, fit.random_state
        n_features = X.shape[1]
        prefixes = (
            check_matryoshka_prefixes(self.matryoshka_prefixes, self.n_components)
            if self.sparsity == "matryoshka_batch_topk"
            else None
        )
        if fit.continuing:
            variance = self._variance
        else:
            variance = mean_variance(X, sample_weight)
        sparsity = self._make_sparsity(variance, prefixes)
        if fit.continuing:
            same_rule = type(sparsity) is type(self._sparsity)
            own = sparsity.init_parameters(
                self.n_components, X.dtype, self.threshold_ if same_rule else None
            )
            theta = pack(list(self._params(X.dtype)) + own)
            stats = copy.deepcopy(self._latent_stats)
            stats.threshold = stats.threshold.astype(X.dtype)
        else:
            own = sparsity.init_parameters(self.n_components, X.dtype)
            theta = pack(
                list(
                    init_parameters(
                        X, self.n_components, rng, self.decoder_bias_init, sample_weight
                    )
                )
                + own
            )
            stats = LatentStats(self.n_components, X.dtype)
        scale = 1 / variance if self.loss == "fvu" and variance > 0 else 1.0
        penalty_scale = sparsity.penalty_scale(scale, variance, n_features)
        k_aux = max(1, n_features // 2) if self.k_aux == "auto" else self.k_aux

        (X_train, sw_train), (X_val, sw_val) = fit.split(X, sample_weight)
        shapes = model_shapes(n_features, self.n_components, sparsity)
        objective = make_training_objective(
            sparsity,
            stats,
            self.n_components,
            loss_scale=scale,
            penalty_scale=penalty_scale,
            k_aux=min(k_aux, self.n_components),
            aux_weight=self.aux_weight,
            dead_after=self.dead_after,
        )
        validation_score = None
        if X_val is not None:

            def validation_score(theta):
                params = unpack(theta, shapes)
                threshold = sparsity.fitted_threshold(stats, params[4:])
                return -fraction_of_variance_unexplained(
                    X_val, params[:4], sparsity, threshold, sample_weight=sw_val
                )

        result = fit.run(
            objective,
            theta,
            (X_train,) if sw_train is None else (X_train, sw_train),
            validation_score=validation_score,
            after_update=make_projection(n_features, self.n_components, sparsity),
        )

        # Only now, with the solver done, does the estimator change.
        W_enc, b_enc, W_dec, b_dec, *own = (
            a.copy() for a in unpack(result.theta, shapes)
        )
        self.coefs_ = [W_enc, W_dec]
        self.intercepts_ = [b_enc, b_dec]
        self.components_ = W_dec
        self._sparsity = sparsity
        self._latent_stats = stats
        self._variance = variance
        self.threshold_ = sparsity.fitted_threshold(stats, own)
        fit.store(result)
        self.n_dead_components_ = int(stats.dead(self.dead_after).sum())
        codes = _encode_in_chunks(X, self._params(X.dtype), sparsity, self.threshold_)
        self.activation_frequency_ = np.bincount(
            codes.indices, minlength=self.n_components
        ) / max(X.shape[0], 1)
        return self

    def _make_sparsity(self, variance, prefixes):
        settings = SparsitySettings(
            k=min(self.k, self.n_components),
            l1_weight=self.l1_weight,
            l0_weight=self.l0_weight,
            jumprelu_bandwidth=self.jumprelu_bandwidth,
            jumprelu_threshold_init=self.jumprelu_threshold_init,
            jumprelu_threshold_space=self.jumprelu_threshold_space,
            matryoshka_prefixes=prefixes,
            data_scale=float(np.sqrt(variance)) if variance > 0 else 1.0,
        )
        return SPARSITY[self.sparsity](settings)

    # -- using the fitted model -----------------------------------------

    def transform(self, X):
        """Sparse codes ``z`` of X: at most ``k`` non-zero latents per row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        X_new : {ndarray, scipy.sparse.csr_matrix} of shape (n_samples, n_components)
            The codes, in X's floating dtype; CSR with ``sparse_output=True``.
        """
        check_is_fitted(self)
        X = self._validate_for_predict(X)
        codes = _encode_in_chunks(
            X, self._params(X.dtype), self._sparsity, self._threshold(X.dtype)
        )
        return codes if self.sparse_output else codes.toarray()

    def inverse_transform(self, X):
        """Reconstruct inputs from codes: ``z @ W_dec + b_dec``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_components)
            Codes, as returned by :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            The reconstructions.
        """
        check_is_fitted(self)
        X = check_array(X, accept_sparse="csr", dtype=[np.float64, np.float32])
        if X.shape[1] != self.n_components:
            raise ValueError(
                f"X has {X.shape[1]} features (codes), but "
                f"{type(self).__name__} has n_components={self.n_components}."
            )
        _, _, W_dec, b_dec = self._params(X.dtype)
        return decode(X, W_dec, b_dec)

    def score(self, X, y=None):
        """Return minus the fraction of variance unexplained (FVU) of X's codes.

        ``-sum_i ||x_i - x_hat_i||^2 / sum_i ||x_i - mean(x)||^2``, with the
        mean of X itself: 0 is a perfect reconstruction, -1 is no better than
        the mean. Higher is better, so ``GridSearchCV`` can select the
        transformer on its own; it does not depend on the data's scale, nor
        on ``loss``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to reconstruct.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        score : float
            Minus the FVU.

        See Also
        --------
        skl_sparse_ae.metrics.fraction_of_variance_unexplained : The FVU of
            ``X`` and ``inverse_transform(transform(X))``; this score is minus
            it, the scorer ``metrics.get_scorer("neg_fvu")``.
        skl_sparse_ae.metrics.explained_variance : ``1 - FVU``, and the
            field's other definitions of it.
        """
        check_is_fitted(self)
        X = self._validate_for_predict(X)
        return -fraction_of_variance_unexplained(
            X, self._params(X.dtype), self._sparsity, self._threshold(X.dtype)
        )

    def _validate_for_predict(self, X):
        return validate_data(
            self, X, accept_sparse="csr", dtype=[np.float64, np.float32], reset=False
        )

    def _params(self, dtype):
        W_enc, W_dec = self.coefs_
        b_enc, b_dec = self.intercepts_
        return tuple(a.astype(dtype, copy=False) for a in (W_enc, b_enc, W_dec, b_dec))

    def _threshold(self, dtype):
        return None if self.threshold_ is None else self.threshold_.astype(dtype)

    @property
    def _n_features_out(self):
        return self.coefs_[0].shape[1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


TopKSAE = TopKSparseAutoencoder
