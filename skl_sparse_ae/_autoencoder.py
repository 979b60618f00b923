"""SparseAutoencoderTransformer: validate, hand the objective to a solver, store."""

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
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import start_fit, unchanged_on_failure
from ._callbacks import CallbackSupport, with_callbacks
from ._objective import (
    autoencoder_params,
    decode,
    encode,
    masked_copy,
    mean_activation,
    reconstruction_error,
    sample_reconstruction_errors,
    sparse_autoencoder_loss_grad,
)
from ._params import init_layer, pack
from ._solver_params import (
    partial_fit_available,
    solver_parameters,
    store_solver_parameters,
)

__all__ = ["SparseAE", "SparseAutoencoderTransformer"]

_MAX_SEED = np.iinfo(np.int32).max


def _value_range(X):
    """Smallest and largest value of X, implicit zeros of a sparse X included."""
    if sp.issparse(X):
        values = X.data
        if X.nnz < X.shape[0] * X.shape[1]:
            values = np.append(values, 0)
    else:
        values = X
    if values.size == 0:
        return 0.0, 0.0
    return float(values.min()), float(values.max())


def _check_decoder(decoder, X):
    """The decoder to use for X: resolve "auto", refuse sigmoid outside [0, 1]."""
    low, high = _value_range(X)
    in_unit_interval = low >= 0 and high <= 1
    if decoder == "auto":
        return "sigmoid" if in_unit_interval else "linear"
    if decoder == "sigmoid" and not in_unit_interval:
        raise ValueError(
            'decoder="sigmoid" reconstructs values in [0, 1], but X has values '
            f"in [{low:.6g}, {high:.6g}]. Scale X into [0, 1] first (for example "
            'with sklearn.preprocessing.MinMaxScaler) or use decoder="linear".'
        )
    return decoder


@solver_parameters(solvers=("lbfgs", "adam", "sgd"))
class SparseAutoencoderTransformer(
    CallbackSupport, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Sparse autoencoder: a transformer to sparse hidden features.

    One hidden layer of sigmoid units ``a(2) = sigmoid(X @ W1 + b1)`` trained
    to reconstruct its input ``h = f(a(2) @ W2 + b2)``, with weight decay and
    a KL-divergence penalty that keeps each unit's mean activation near a
    small target (Ng, UFLDL tutorial). ``transform`` returns ``a(2)``.

    The objective is

    .. math::

        J = \\frac{1}{m}\\sum_i \\frac{1}{2}\\|h(x_i) - x_i\\|^2
            + \\frac{\\lambda}{2}(\\|W_1\\|^2 + \\|W_2\\|^2)
            + \\beta \\sum_j \\mathrm{KL}(\\rho \\,\\|\\, \\hat\\rho_j),
        \\qquad \\hat\\rho_j = \\frac{1}{m}\\sum_i a^{(2)}_j(x_i).

    Read more in the :ref:`User Guide <user_guide>`.

    Parameters
    ----------
    n_components : int, default=100
        Number of hidden units (s2).
    sparsity_target : float, default=0.05
        The sparsity target rho: the target mean activation of each hidden
        unit, in (0, 1) (eq. 2).
    sparsity_weight : float, default=3.0
        The weight beta of the KL sparsity penalty (eq. 3); 0 switches it
        off.
    alpha : float, default=1e-4
        The weight-decay coefficient lambda of eq. (5); it applies to the
        weights only, not to the intercepts.
    decoder : {"auto", "sigmoid", "linear"}, default="auto"
        Output activation ``f`` of the reconstruction. ``"sigmoid"`` is the
        seed's, for data in [0, 1]; ``"linear"`` reconstructs real values.
        ``"auto"`` picks ``"sigmoid"`` when the training data lie in [0, 1]
        and ``"linear"`` otherwise; the choice is stored in ``decoder_``.
    corruption_level : float, default=0.0
        Masking noise of the denoising autoencoder (Vincent et al., 2008):
        the fraction, in [0, 1), of each training input's entries set to 0
        before encoding, while the reconstruction target stays the clean
        input. adam and sgd draw a fresh mask for every minibatch; lbfgs,
        which needs one fixed objective, draws one corrupted copy of the
        training data per fit. ``transform``, ``score`` and
        ``mean_activation_`` always use the clean input. 0 is the seed's
        plain autoencoder.
    tied_weights : bool, default=False
        Decode with the transpose of the encoder's weights, ``W2 = W1.T``:
        one weight matrix, half the parameters. Its gradient is the
        encoder's plus the transpose of the decoder's, and the weight decay
        ``(lambda/2)(||W1||^2 + ||W2||^2)`` is ``lambda ||W1||^2``. False is
        the seed's equations.
    {solver_parameters}

    Attributes
    ----------
    coefs_ : list of ndarray
        ``[W1, W2]``: the encoder's weights, shape (n_features,
        n_components), and the decoder's, shape (n_components,
        n_features). Column j of W1 is hidden unit j's filter. With
        ``tied_weights=True``, W2 is a copy of ``W1.T``.
    intercepts_ : list of ndarray
        ``[b1, b2]``, shapes (n_components,) and (n_features,).
    decoder_ : str
        The decoder used, "sigmoid" or "linear".
    loss_ : float
        The objective J of eq. (5). With lbfgs, its exact value at the
        returned weights on the training data; with adam and sgd, the mean
        minibatch loss of the last epoch.
    loss_curve_ : list of float
        The loss after each iteration (lbfgs) or epoch (adam, sgd).
    best_loss_ : float or None
        Smallest epoch loss seen by adam or sgd; None for lbfgs.
    validation_scores_ : list of float or None
        Validation reconstruction score per epoch with ``early_stopping``.
    best_validation_score_ : float or None
        Best of ``validation_scores_``.
    n_iter_ : int
        Iterations (lbfgs) or epochs (adam, sgd) run.
    mean_activation_ : ndarray of shape (n_components,)
        rho_hat of eq. (1): each hidden unit's mean activation on the
        training data (the weighted mean with ``sample_weight``).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    StackedSparseAEClassifier : Sparse autoencoders stacked under a softmax.
    sklearn.neural_network.BernoulliRBM : Another unsupervised neural
        feature learner.

    Notes
    -----
    ``SparseAE`` is another name for this class.

    References
    ----------
    A. Ng, "Sparse autoencoder", CS294A lecture notes, Stanford, 2011; and the
    UFLDL tutorial.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from skl_sparse_ae import SparseAE
    >>> X = MinMaxScaler().fit_transform(load_digits().data)
    >>> ae = SparseAE(n_components=32, max_iter=50, random_state=0).fit(X)
    >>> ae.transform(X).shape
    (1797, 32)
    >>> ae.decoder_
    'sigmoid'
    >>> bool(ae.mean_activation_.mean() < 0.2)
    True
    """

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "sparsity_target": [Interval(Real, 0, 1, closed="neither")],
        "sparsity_weight": [Interval(Real, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "decoder": [StrOptions({"auto", "sigmoid", "linear"})],
        "corruption_level": [Interval(Real, 0, 1, closed="left")],
        "tied_weights": ["boolean"],
    }

    def __init__(
        self,
        n_components=100,
        *,
        sparsity_target=0.05,
        sparsity_weight=3.0,
        alpha=1e-4,
        decoder="auto",
        corruption_level=0.0,
        tied_weights=False,
        **solver_params,
    ):
        self.n_components = n_components
        self.sparsity_target = sparsity_target
        self.sparsity_weight = sparsity_weight
        self.alpha = alpha
        self.decoder = decoder
        self.corruption_level = corruption_level
        self.tied_weights = tied_weights
        store_solver_parameters(self, solver_params)

    # -- fitting --------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    @with_callbacks
    def fit(self, X, y=None, sample_weight=None):
        """Fit the autoencoder to X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. With ``decoder="sigmoid"`` (or "auto" picking it)
            the values must lie in [0, 1].
        y : None
            Ignored; present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples: every mean over the samples
            in the objective (the reconstruction term of eq. 5 and rho_hat of
            eq. 1) becomes the weighted mean; weight decay is not weighted.
            With lbfgs, integer weights give the fit of the data with each
            sample repeated that many times. None weighs every sample 1.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        with unchanged_on_failure(self):
            return self._fit(X, incremental=False, sample_weight=sample_weight)

    @available_if(partial_fit_available())
    @_fit_context(prefer_skip_nested_validation=True)
    @with_callbacks
    def partial_fit(self, X, y=None, sample_weight=None):
        """Run one epoch of adam or sgd over X, continuing from the current state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            One chunk of training data.
        y : None
            Ignored; present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples (see :meth:`fit`); the means
            are taken over each minibatch.

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
        # a model being continued keeps the decoder it was fitted with
        decoder = _check_decoder(self.decoder_ if fit.continuing else self.decoder, X)
        (X_train, sw_train), (X_val, sw_val) = fit.split(X, sample_weight)
        tied = self.tied_weights
        if fit.continuing:
            W1, W2 = self.coefs_
            b1, b2 = self.intercepts_
            theta = pack([W1, b1, b2] if tied else [W1, b1, W2, b2], dtype=X.dtype)
        else:
            W1, b1 = init_layer(n_features, self.n_components, X.dtype, rng)
            W2, b2 = init_layer(self.n_components, n_features, X.dtype, rng)
            theta = pack([W1, b1, b2] if tied else [W1, b1, W2, b2])
        corrupt = self._corruption(X_train, rng, fit.solver.full_batch)

        def objective(theta, X, sample_weight=None, grad=None, workspace=None):
            return sparse_autoencoder_loss_grad(
                theta,
                X,
                self.n_components,
                alpha=self.alpha,
                sparsity_target=self.sparsity_target,
                sparsity_weight=self.sparsity_weight,
                decoder=decoder,
                tied_weights=tied,
                inputs=None if corrupt is None else corrupt(X, workspace),
                sample_weight=sample_weight,
                grad=grad,
                workspace=workspace,
            )

        validation_score = None
        if X_val is not None:

            def validation_score(theta):
                W1, b1, W2, b2 = autoencoder_params(
                    theta, n_features, self.n_components, tied
                )
                return -reconstruction_error(
                    X_val, [W1, W2], [b1, b2], decoder, sample_weight=sw_val
                )

        result = fit.run(
            objective,
            theta,
            (X_train,) if sw_train is None else (X_train, sw_train),
            validation_score=validation_score,
        )

        # Only now, with the solver done, does the estimator change.
        W1, b1, W2, b2 = (
            np.array(a, order="C")
            for a in autoencoder_params(
                result.theta, n_features, self.n_components, tied
            )
        )
        self.coefs_ = [W1, W2]
        self.intercepts_ = [b1, b2]
        self.decoder_ = decoder
        fit.store(result)
        self.mean_activation_ = mean_activation(X, W1, b1, sample_weight=sample_weight)
        return self

    def _corruption(self, X_train, rng, full_batch):
        """``corrupt(X, workspace)``: the encoder's masked input, or None.

        A fresh mask per call for the minibatch solvers (one call per
        minibatch). A full-batch solver (lbfgs) sees one fixed objective, so
        its corrupted copy of the training data is drawn once, here; it is
        only ever called with the full training data.
        """
        level = self.corruption_level
        if level == 0:
            return None
        generator = np.random.default_rng(rng.randint(_MAX_SEED))
        if full_batch:
            fixed = masked_copy(X_train, level, generator)
            return lambda X, workspace: fixed

        def corrupt(X, workspace):
            out = None
            if not sp.issparse(X) and workspace is not None:
                out = workspace.get("corrupted", X.shape, X.dtype)
            return masked_copy(X, level, generator, out=out)

        return corrupt

    # -- using the fitted model -----------------------------------------

    def transform(self, X):
        """Hidden activations ``a(2) = sigmoid(X @ W1 + b1)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            The hidden features, in X's floating dtype.
        """
        check_is_fitted(self)
        X = self._validate_for_predict(X)
        return encode(X, *self._encoder(X.dtype))

    def inverse_transform(self, X):
        """Reconstruct inputs from hidden codes: ``f(X @ W2 + b2)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Hidden codes, as returned by :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            The reconstructions.
        """
        check_is_fitted(self)
        X = check_array(X, dtype=[np.float64, np.float32])
        if X.shape[1] != self.n_components:
            raise ValueError(
                f"X has {X.shape[1]} features (hidden codes), but "
                f"{type(self).__name__} has n_components={self.n_components}."
            )
        W2 = self.coefs_[1].astype(X.dtype, copy=False)
        b2 = self.intercepts_[1].astype(X.dtype, copy=False)
        return decode(X, W2, b2, self.decoder_)

    def score_samples(self, X):
        """Return minus the reconstruction error of each sample.

        ``-(1/2) ||h(x_i) - x_i||^2`` for each row ``x_i`` of X, with ``h`` the
        autoencoder (:meth:`transform` then :meth:`inverse_transform`).

        Higher is more normal, as for scikit-learn's outlier detectors
        (:meth:`sklearn.ensemble.IsolationForest.score_samples`): samples
        unlike the training data reconstruct badly and score low, so the
        reconstruction error ranks outliers (see
        :ref:`sphx_glr_auto_examples_plot_outlier_detection.py`).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to reconstruct.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Minus the reconstruction error of each sample, in float64 (the
            squares are summed in float64 for float32 data too).

        See Also
        --------
        score : The mean of these scores.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from skl_sparse_ae import SparseAE
        >>> X, y = load_digits(return_X_y=True)
        >>> X = X / 16
        >>> ae = SparseAE(n_components=16, tol=1e-3, max_iter=500, random_state=0)
        >>> ae = ae.fit(X[y != 0])  # every digit but 0
        >>> scores = ae.score_samples(X)
        >>> scores.shape
        (1797,)
        >>> bool(scores[y == 0].mean() < scores[y != 0].mean())  # 0s are unusual
        True
        """
        check_is_fitted(self)
        X = self._validate_for_predict(X)
        coefs = [c.astype(X.dtype, copy=False) for c in self.coefs_]
        intercepts = [b.astype(X.dtype, copy=False) for b in self.intercepts_]
        return -sample_reconstruction_errors(X, coefs, intercepts, self.decoder_)

    def score(self, X, y=None):
        """Negative mean reconstruction error: ``-(1/m) sum_i (1/2)||h(x_i) - x_i||^2``.

        The mean of :meth:`score_samples`. This is minus the data term of
        eq. (5) (without weight decay and sparsity penalties), so higher is
        better and ``GridSearchCV`` can select the transformer on its own.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to reconstruct.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        score : float
            The negative mean reconstruction error.

        See Also
        --------
        skl_sparse_ae.metrics.mean_squared_error : The mean over all entries
            of ``(X - inverse_transform(transform(X)))**2``; this score is
            ``-(n_features / 2)`` times it.
        """
        return float(np.mean(self.score_samples(X)))

    def _validate_for_predict(self, X):
        return validate_data(
            self, X, accept_sparse="csr", dtype=[np.float64, np.float32], reset=False
        )

    def _encoder(self, dtype):
        return (
            self.coefs_[0].astype(dtype, copy=False),
            self.intercepts_[0].astype(dtype, copy=False),
        )

    @property
    def _n_features_out(self):
        return self.coefs_[0].shape[1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


SparseAE = SparseAutoencoderTransformer
