"""StackedSparseAEClassifier: greedy layer-wise pretraining, softmax, fine-tuning."""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.special import log_softmax
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import TransformerTags
from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from ._autoencoder import SparseAutoencoderTransformer
from ._base import run_solver, start_fit, unchanged_on_failure
from ._callbacks import CallbackSupport, SolverProgress, stage_task, with_callbacks
from ._objective import (
    clip_column_norms,
    dropout_mask,
    masked_copy,
    network_forward,
    network_loss_grad,
)
from ._params import init_layer, layer_shapes, pack, unpack
from ._solver_params import (
    make_solver,
    partial_fit_available,
    solver_parameter_constraints,
    stage_parameters,
)
from ._solvers import INTERRUPTED

__all__ = ["StackedSparseAEClassifier"]

_MAX_SEED = np.iinfo(np.int32).max


def _per_layer(value, n_layers, name, constraints=None):
    """One value per hidden layer from a scalar or a sequence.

    Each value must satisfy the constraint on the parameter of that name in
    ``constraints`` (by default the transformer's own, as its autoencoders
    will get it), checked here with the stacked classifier named in the
    error.
    """
    values = np.asarray(value)
    if values.ndim > 1 or (values.ndim == 1 and values.shape[0] not in (1, n_layers)):
        raise ValueError(
            f"{name} must be a scalar or have one value per hidden layer "
            f"({n_layers}); got {value!r}."
        )
    values = np.broadcast_to(values, (n_layers,)).tolist()
    if constraints is None:
        constraints = SparseAutoencoderTransformer._parameter_constraints
    for v in values:
        validate_parameter_constraints(
            {name: constraints[name]},
            {name: v},
            caller_name="StackedSparseAEClassifier",
        )
    return values


# Each hidden layer's dropout rate during fine-tuning, checked per layer.
_DROPOUT_CONSTRAINTS = {"fine_tune_dropout": [Interval(Real, 0, 1, closed="left")]}


#: The solver parameters of each stage, after its prefix: ``pretrain_`` (each
#: autoencoder, which gets the rest from the shared parameters) and
#: ``fine_tune_``; ``softmax_max_iter`` sets the softmax layer's L-BFGS.
_STAGE_SOLVER_PARAMETERS = (
    "solver",
    "max_iter",
    "batch_size",
    "learning_rate_init",
    "learning_rate",
)
#: What the classifier sets of each autoencoder's solver (the rest keep the
#: transformer's defaults).
_AUTOENCODER_SOLVER = (
    *_STAGE_SOLVER_PARAMETERS,
    "tol",
    "n_iter_no_change",
    "shuffle",
    "momentum",
    "learning_rate_final_ratio",
    "verbose",
)
#: The solver parameters every stage shares, unprefixed.
_SHARED_SOLVER_PARAMETERS = (
    "validation_fraction",
    "tol",
    "n_iter_no_change",
    "shuffle",
    "momentum",
    "learning_rate_final_ratio",
    "random_state",
    "verbose",
    "warm_start",
)


class StackedSparseAEClassifier(
    CallbackSupport, ClassifierMixin, TransformerMixin, BaseEstimator
):
    """Stacked sparse autoencoders under a softmax classifier.

    Training follows the UFLDL tutorial's stacked autoencoder:

    1. **Greedy layer-wise pretraining.** Hidden layer k is a
       :class:`SparseAutoencoderTransformer` fitted, without labels, on the
       output of layer k-1 (the raw input for the first layer); its encoder
       becomes the layer and its decoder is discarded.
    2. **Softmax.** A softmax regression (cross-entropy plus weight decay) is
       fitted with L-BFGS on the top layer's features.
    3. **Fine-tuning** (``fine_tune=True``). The whole stack is trained by
       backpropagation on softmax cross-entropy plus weight decay of every
       layer. ``fine_tune=False`` stops after step 2: the seed's procedure.

    Parameters are named after the stage they control. The autoencoders'
    model parameters keep their transformer names (``sparsity_target``,
    ``sparsity_weight``, ``alpha``, ``decoder``); ``pretrain_*`` set the
    autoencoders' solver, ``softmax_*`` the softmax layer trained before
    fine-tuning, ``fine_tune_*`` the fine-tuning; ``tol``,
    ``n_iter_no_change``, ``validation_fraction``, ``shuffle``, ``momentum``,
    ``random_state``, ``verbose`` apply to every stage that uses them.

    Read more in the :ref:`User Guide <user_guide>`.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(200, 200)
        Units of each hidden layer, input side first.
    sparsity_target : float or sequence of float, default=0.1
        The sparsity target rho of each autoencoder (eq. 2): one value for
        every layer or one per layer.
    sparsity_weight : float or sequence of float, default=3.0
        The sparsity weight beta of each autoencoder (eq. 3); 0 switches the
        penalty off.
    alpha : float or sequence of float, default=1e-4
        The weight decay lambda of each autoencoder (eq. 5), during
        pretraining. The UFLDL tutorial's 3e-3 can make a second autoencoder
        collapse to constant features on small data.
    decoder : {"auto", "sigmoid", "linear"}, default="auto"
        Output activation of the first autoencoder (see
        :class:`SparseAutoencoderTransformer`). Deeper autoencoders
        reconstruct sigmoid activations and always use "sigmoid".
    corruption_level : float or sequence of float, default=0.0
        Masking noise of each autoencoder: the fraction of its inputs set to
        0 during pretraining, one value for every layer or one per layer.
        Above 0 the autoencoders are denoising autoencoders, the stacked
        denoising autoencoder of Vincent et al. (2010) (see
        :class:`SparseAutoencoderTransformer`).
    tied_weights : bool or sequence of bool, default=False
        Pretrain each autoencoder with its decoder tied to its encoder,
        ``W2 = W1.T`` (see :class:`SparseAutoencoderTransformer`); one value
        for every layer or one per layer.
    pretrain_solver : {"lbfgs", "adam", "sgd"}, default="adam"
        Solver of each autoencoder.
    pretrain_max_iter : int, default=20
        Iterations (lbfgs) or epochs (adam, sgd) of each autoencoder.
    pretrain_batch_size : int or "auto", default="auto"
        Minibatch size of each autoencoder; "auto" is ``min(256, n_samples)``.
    pretrain_learning_rate_init : float, default=1e-2
        Step size of each autoencoder's adam or sgd. At 1e-3, ten or twenty
        epochs leave the autoencoders undertrained on MNIST-sized data.
    pretrain_learning_rate : {"constant", "linear", "cosine"}, default="constant"
        Learning-rate schedule of each autoencoder's adam or sgd over its
        ``pretrain_max_iter`` epochs (see
        :class:`SparseAutoencoderTransformer`'s ``learning_rate``). A
        decaying rate can leave a wide autoencoder on the plateau where every
        unit is equally active on every input: keep it constant unless the
        epochs are many.
    softmax_alpha : float, default=1e-4
        Weight decay of the softmax layer, during its own training and
        during fine-tuning.
    softmax_max_iter : int, default=200
        L-BFGS iterations of the softmax layer before fine-tuning.
    fine_tune : bool, default=True
        Fine-tune the whole stack by backpropagation after pretraining.
    fine_tune_solver : {"lbfgs", "adam", "sgd"}, default="adam"
        Solver of the fine-tuning.
    fine_tune_max_iter : int, default=200
        Iterations (lbfgs) or epochs (adam, sgd) of fine-tuning.
    fine_tune_batch_size : int or "auto", default="auto"
        Minibatch size of the fine-tuning; "auto" is ``min(256, n_samples)``.
    fine_tune_learning_rate_init : float, default=1e-3
        Step size of the fine-tuning's adam or sgd.
    fine_tune_learning_rate : {"constant", "linear", "cosine"}, default="constant"
        Learning-rate schedule of the fine-tuning's adam or sgd:
        ``"linear"`` and ``"cosine"`` decay ``fine_tune_learning_rate_init``
        to ``learning_rate_final_ratio`` of it in epoch
        ``fine_tune_max_iter``. On MNIST-sized data a cosine decay over 50
        epochs with ``fine_tune_dropout=0.2`` beats the constant rate (the
        command line's ``--config default``); on small data, where 200
        epochs are few minibatches, the constant rate does better.
    fine_tune_alpha : float, default=1e-5
        Weight decay of the hidden layers during fine-tuning.
    fine_tune_dropout : float or sequence of float, default=0.0
        Dropout rate of each hidden layer's units during fine-tuning, in
        [0, 1): one value for every hidden layer or one per layer. Inverted
        dropout: the kept activations are divided by ``1 - rate`` while
        training, so prediction uses the whole network unchanged
        (Srivastava et al., 2014). Needs a minibatch ``fine_tune_solver``.
    fine_tune_input_dropout : float, default=0.0
        Dropout rate of the input features during fine-tuning, in [0, 1)
        (inverted, as ``fine_tune_dropout``).
    fine_tune_max_norm : float or None, default=None
        Max-norm constraint of fine-tuning: after every update, each unit's
        incoming weight vector (a column of ``coefs_[k]``, every layer) is
        scaled back to this L2 norm when longer. Dropout's usual companion,
        which lets it use large learning rates. None: no constraint. Needs a
        minibatch ``fine_tune_solver``.
    fine_tune_early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data, stop
        fine-tuning when its accuracy stops improving and keep the best
        weights (adam and sgd). The held-out data are not used for training
        at all.
    validation_fraction : float, default=0.1
        Share of the data held out with ``fine_tune_early_stopping``.
    tol : float, default=1e-4
        Stopping tolerance of every stage (see
        :class:`SparseAutoencoderTransformer`).
    n_iter_no_change : int, default=10
        Epochs without improvement before adam or sgd stop.
    shuffle : bool, default=True
        Shuffle the samples at each epoch (adam and sgd).
    momentum : float, default=0.9
        Momentum of sgd.
    learning_rate_final_ratio : float, default=0.01
        Final step size of the decaying schedules (``pretrain_learning_rate``,
        ``fine_tune_learning_rate``), as a fraction of the stage's initial
        one, in [0, 1].
    random_state : int, RandomState instance or None, default=None
        Seeds every stage. Pass an int for reproducible results.
    verbose : int, default=0
        Print progress: one line per layer and per iteration or epoch.
    warm_start : bool, default=False
        Keep the fitted network and continue fine-tuning it instead of
        pretraining again; y must then have exactly the classes of the
        previous fit (a ValueError names both otherwise).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    autoencoders_ : list of SparseAutoencoderTransformer
        The fitted autoencoder of each hidden layer; ``autoencoders_[k]`` was
        fitted on ``autoencoders_[k-1]``'s output. Their ``coefs_[0]`` are
        the pretrained filters.
    coefs_ : list of ndarray
        Weights of the whole network, hidden layers then softmax, each of
        shape (n_in, n_out), as in MLPClassifier; fine-tuned when
        ``fine_tune=True``.
    intercepts_ : list of ndarray
        Intercepts of each layer.
    pretrained_coefs_ : list of ndarray
        The network's weights before fine-tuning: the autoencoders' encoders
        and the softmax layer.
    pretrained_intercepts_ : list of ndarray
        The intercepts before fine-tuning.
    pretrain_loss_ : float
        Softmax loss (cross-entropy plus weight decay) on the training
        features before fine-tuning.
    pretrain_score_ : float
        Training accuracy of the network before fine-tuning (weighted with
        ``sample_weight``).
    loss_ : float
        Fine-tuning loss at the end (with lbfgs, exactly at the returned
        weights; with adam and sgd, the last epoch's mean); equal to
        ``pretrain_loss_`` plus the hidden layers' weight decay when
        ``fine_tune=False``.
    loss_curve_ : list of float
        Fine-tuning loss per iteration or epoch; empty if ``fine_tune=False``.
    validation_scores_ : list of float or None
        Held-out accuracy per epoch with ``fine_tune_early_stopping``.
    best_validation_score_ : float or None
        Best of ``validation_scores_``.
    n_iter_ : int
        Fine-tuning iterations or epochs run.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    SparseAutoencoderTransformer : One sparse autoencoder, as a transformer.
    sklearn.neural_network.MLPClassifier : Feed-forward network trained from a
        random start.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from skl_sparse_ae import StackedSparseAEClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(
    ...     X / 16, y, random_state=0)
    >>> clf = StackedSparseAEClassifier(hidden_layer_sizes=(64, 32),
    ...                                 random_state=0).fit(X_train, y_train)
    >>> bool(clf.score(X_test, y_test) > 0.9)
    True
    >>> [ae.n_components for ae in clf.autoencoders_]
    [64, 32]
    """

    _parameter_constraints = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "sparsity_target": [Interval(Real, 0, 1, closed="neither"), "array-like"],
        "sparsity_weight": [Interval(Real, 0, None, closed="left"), "array-like"],
        "alpha": [Interval(Real, 0, None, closed="left"), "array-like"],
        "decoder": [StrOptions({"auto", "sigmoid", "linear"})],
        "corruption_level": [Interval(Real, 0, 1, closed="left"), "array-like"],
        "tied_weights": ["boolean", "array-like"],
        **solver_parameter_constraints(_STAGE_SOLVER_PARAMETERS, "pretrain_"),
        "softmax_alpha": [Interval(Real, 0, None, closed="left")],
        "softmax_max_iter": [Interval(Integral, 1, None, closed="left")],
        "fine_tune": ["boolean"],
        **solver_parameter_constraints(_STAGE_SOLVER_PARAMETERS, "fine_tune_"),
        "fine_tune_alpha": [Interval(Real, 0, None, closed="left")],
        "fine_tune_dropout": [Interval(Real, 0, 1, closed="left"), "array-like"],
        "fine_tune_input_dropout": [Interval(Real, 0, 1, closed="left")],
        "fine_tune_max_norm": [Interval(Real, 0, None, closed="neither"), None],
        **solver_parameter_constraints(_SHARED_SOLVER_PARAMETERS),
        "fine_tune_early_stopping": solver_parameter_constraints(["early_stopping"])[
            "early_stopping"
        ],
    }

    def __init__(
        self,
        hidden_layer_sizes=(200, 200),
        *,
        sparsity_target=0.1,
        sparsity_weight=3.0,
        alpha=1e-4,
        decoder="auto",
        corruption_level=0.0,
        tied_weights=False,
        pretrain_solver="adam",
        pretrain_max_iter=20,
        pretrain_batch_size="auto",
        pretrain_learning_rate_init=1e-2,
        pretrain_learning_rate="constant",
        softmax_alpha=1e-4,
        softmax_max_iter=200,
        fine_tune=True,
        fine_tune_solver="adam",
        fine_tune_max_iter=200,
        fine_tune_batch_size="auto",
        fine_tune_learning_rate_init=1e-3,
        fine_tune_learning_rate="constant",
        fine_tune_alpha=1e-5,
        fine_tune_dropout=0.0,
        fine_tune_input_dropout=0.0,
        fine_tune_max_norm=None,
        fine_tune_early_stopping=False,
        validation_fraction=0.1,
        tol=1e-4,
        n_iter_no_change=10,
        shuffle=True,
        momentum=0.9,
        learning_rate_final_ratio=0.01,
        random_state=None,
        verbose=0,
        warm_start=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.sparsity_target = sparsity_target
        self.sparsity_weight = sparsity_weight
        self.alpha = alpha
        self.decoder = decoder
        self.corruption_level = corruption_level
        self.tied_weights = tied_weights
        self.pretrain_solver = pretrain_solver
        self.pretrain_max_iter = pretrain_max_iter
        self.pretrain_batch_size = pretrain_batch_size
        self.pretrain_learning_rate_init = pretrain_learning_rate_init
        self.pretrain_learning_rate = pretrain_learning_rate
        self.softmax_alpha = softmax_alpha
        self.softmax_max_iter = softmax_max_iter
        self.fine_tune = fine_tune
        self.fine_tune_solver = fine_tune_solver
        self.fine_tune_max_iter = fine_tune_max_iter
        self.fine_tune_batch_size = fine_tune_batch_size
        self.fine_tune_learning_rate_init = fine_tune_learning_rate_init
        self.fine_tune_learning_rate = fine_tune_learning_rate
        self.fine_tune_alpha = fine_tune_alpha
        self.fine_tune_dropout = fine_tune_dropout
        self.fine_tune_input_dropout = fine_tune_input_dropout
        self.fine_tune_max_norm = fine_tune_max_norm
        self.fine_tune_early_stopping = fine_tune_early_stopping
        self.validation_fraction = validation_fraction
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.momentum = momentum
        self.learning_rate_final_ratio = learning_rate_final_ratio
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    # -- fitting --------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    @with_callbacks
    def fit(self, X, y, sample_weight=None):
        """Pretrain the stack layer by layer, fit the softmax, fine-tune.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (sparse input is used as is by the first layer).
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples, used by every stage: each
            autoencoder's objective (see
            :meth:`SparseAutoencoderTransformer.fit`), the softmax layer's
            and the fine-tuning's cross-entropy become weighted means (weight
            decay is not weighted), and the held-out accuracy of
            ``fine_tune_early_stopping`` is weighted. None weighs every
            sample 1.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        with unchanged_on_failure(self):
            return self._fit(X, y, incremental=False, sample_weight=sample_weight)

    @available_if(partial_fit_available("fine_tune_"))
    @_fit_context(prefer_skip_nested_validation=True)
    @with_callbacks
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch of minibatch fine-tuning on (X, y).

        On the first call the stack is pretrained on this chunk first (greedy
        pretraining and softmax, as in :meth:`fit`); ``classes`` must then
        list every class that will ever be seen.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            One chunk of training data.
        y : array-like of shape (n_samples,)
            Its labels.
        classes : array-like of shape (n_classes,), default=None
            All the classes; required on the first call. Passed again later,
            it must be the same classes (in any order): ``classes_`` cannot
            change after the first call.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples (see :meth:`fit`); the means
            are taken over each minibatch.

        Returns
        -------
        self : object
            The updated classifier.
        """
        first_call = not hasattr(self, "classes_")
        if first_call and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if not first_call and classes is not None:
            # as scikit-learn's _check_partial_fit_first_call: the same set again
            new = unique_labels(classes)
            if not np.array_equal(new, self.classes_):
                raise ValueError(
                    f"classes={new.tolist()} is not the same as the classes of the "
                    f"earlier fit or partial_fit, {self.classes_.tolist()}; the "
                    "classes cannot change after the first call."
                )
        with unchanged_on_failure(self):
            return self._fit(
                X,
                y,
                incremental=True,
                classes=classes if first_call else None,
                sample_weight=sample_weight,
            )

    def _fit(self, X, y, incremental, classes=None, sample_weight=None):
        fit = start_fit(
            self,
            X,
            y,
            incremental=incremental,
            sample_weight=sample_weight,
            prefix="fine_tune_",
            n_tasks=self._n_stages,
        )
        X, y, sample_weight = fit.X, fit.y, fit.sample_weight
        continuing = fit.continuing
        check_classification_targets(y)
        n_layers = len(self._hidden_sizes())
        rhos = _per_layer(self.sparsity_target, n_layers, "sparsity_target")
        betas = _per_layer(self.sparsity_weight, n_layers, "sparsity_weight")
        alphas = _per_layer(self.alpha, n_layers, "alpha")
        noise = _per_layer(self.corruption_level, n_layers, "corruption_level")
        tied = _per_layer(self.tied_weights, n_layers, "tied_weights")
        dropout = _per_layer(
            self.fine_tune_dropout, n_layers, "fine_tune_dropout", _DROPOUT_CONSTRAINTS
        )
        self._check_fine_tune_regularisation(dropout, fit.solver)

        if continuing:
            encoder = self._label_encoder
            self._check_continued_classes(y, incremental)
        else:
            encoder = LabelEncoder().fit(y if classes is None else classes)
            if (
                classes is not None
                and np.setdiff1d(np.unique(y), encoder.classes_).size
            ):
                raise ValueError("y has classes that are not in `classes`.")
            if encoder.classes_.shape[0] < 2:
                raise ValueError(
                    "The classifier needs samples of at least 2 classes in the data, "
                    f"but the data contain only one class: {encoder.classes_[0]!r}."
                )
        Y = np.eye(len(encoder.classes_), dtype=X.dtype)[encoder.transform(y)]

        X_val = y_val = sw_val = None
        if self.fine_tune:
            (X, Y, sample_weight), (X_val, Y_val, sw_val) = fit.split(
                X, Y, sample_weight, stratify=y
            )
            y_val = None if Y_val is None else Y_val.argmax(axis=1)

        if continuing:
            autoencoders = self.autoencoders_
            coefs = [c.astype(X.dtype, copy=False) for c in self.coefs_]
            intercepts = [b.astype(X.dtype, copy=False) for b in self.intercepts_]
            pretrained = None
        else:
            autoencoders, features = self._pretrain(
                fit, X, (rhos, betas, alphas, noise, tied), sample_weight
            )
            softmax_coef, softmax_intercept, pretrain_loss = self._fit_softmax(
                fit, features, Y, sample_weight
            )
            coefs = [ae.coefs_[0] for ae in autoencoders] + [softmax_coef]
            intercepts = [ae.intercepts_[0] for ae in autoencoders] + [
                softmax_intercept
            ]
            pretrained = (coefs, intercepts, pretrain_loss)

        sizes = self._layer_sizes(X.shape[1], Y.shape[1])
        theta = pack([p for pair in zip(coefs, intercepts) for p in pair])
        result = None
        if self.fine_tune or (incremental and continuing):
            result = self._fine_tune(
                fit,
                theta,
                (X, Y) if sample_weight is None else (X, Y, sample_weight),
                sizes,
                (X_val, y_val, sw_val),
                dropout,
            )
            theta = result.theta

        # Only now, with every stage done, does the estimator change.
        params = [a.copy() for a in unpack(theta, layer_shapes(sizes))]
        self.coefs_, self.intercepts_ = params[0::2], params[1::2]
        self.classes_ = encoder.classes_
        self._label_encoder = encoder
        if pretrained is not None:
            self.autoencoders_ = autoencoders
            self.pretrained_coefs_ = [c.copy() for c in pretrained[0]]
            self.pretrained_intercepts_ = [b.copy() for b in pretrained[1]]
            self.pretrain_loss_ = pretrained[2]
            correct = self._forward(X, *pretrained[:2])[-1].argmax(axis=1) == (
                Y.argmax(axis=1)
            )
            self.pretrain_score_ = float(np.average(correct, weights=sample_weight))
        if result is None:
            self.loss_ = float(
                network_loss_grad(
                    theta,
                    X,
                    Y,
                    sizes,
                    alpha=self._fine_tune_alphas(),
                    sample_weight=sample_weight,
                )[0]
            )
            self.loss_curve_, self.n_iter_ = [], 0
            self.best_loss_ = self.validation_scores_ = None
            self.best_validation_score_ = None
            self._solver_state = None
            fit.end()
        else:
            fit.store(result)
        return self

    def _check_continued_classes(self, y, incremental):
        """y's classes must fit the network being continued, as in MLPClassifier.

        A ``partial_fit`` chunk may hold only some of the classes, none new;
        a ``warm_start`` fit trains on the whole data, so its y must have
        exactly the classes of the previous fit.
        """
        known = set(self.classes_.tolist())
        classes = np.unique(y)
        if incremental:
            unseen = [c for c in classes.tolist() if c not in known]
            if unseen:
                raise ValueError(
                    f"y has classes {unseen} not seen in the first fit; "
                    f"the classes are {self.classes_.tolist()}."
                )
        elif set(classes.tolist()) != known:
            raise ValueError(
                "warm_start can only be used where y has the same classes as in "
                f"the previous fit. Previously got {self.classes_.tolist()}, y has "
                f"{classes.tolist()}."
            )

    def _check_fine_tune_regularisation(self, dropout, solver):
        """Dropout and max-norm act between minibatch updates: not with lbfgs."""
        uses = any(dropout) or self.fine_tune_input_dropout > 0
        uses = uses or self.fine_tune_max_norm is not None
        if uses and solver.full_batch:
            raise ValueError(
                "fine_tune_dropout, fine_tune_input_dropout and fine_tune_max_norm "
                "need a minibatch fine_tune_solver ('adam' or 'sgd'), not 'lbfgs'."
            )

    def _hidden_sizes(self):
        sizes = np.atleast_1d(self.hidden_layer_sizes)
        if sizes.ndim != 1 or sizes.size == 0 or np.any(sizes < 1):
            raise ValueError(
                "hidden_layer_sizes must hold at least one layer size, each >= 1; "
                f"got {self.hidden_layer_sizes!r}."
            )
        return tuple(int(s) for s in sizes)

    def _layer_sizes(self, n_features, n_classes):
        return (n_features, *self._hidden_sizes(), n_classes)

    def _fine_tune_alphas(self):
        return [self.fine_tune_alpha] * len(self._hidden_sizes()) + [self.softmax_alpha]

    def _n_stages(self, continuing):
        """The fit's stages: each layer's pretraining, softmax, fine-tuning."""
        n_pretraining = 0 if continuing else len(self._hidden_sizes()) + 1
        return n_pretraining + int(self.fine_tune or continuing)

    def _pretrain(self, fit, X, per_layer, sample_weight):
        """Greedy layer-wise pretraining: each autoencoder on the previous output.

        ``per_layer`` holds each layer's sparsity target, sparsity weight,
        weight decay, corruption level and tied weights.
        """
        rhos, betas, alphas, noise, tied = per_layer
        autoencoders, features = [], X
        for k, n_units in enumerate(self._hidden_sizes()):
            if self.verbose:
                print(f"Pretraining layer {k + 1}: {features.shape[1]} -> {n_units}")
            ae = SparseAutoencoderTransformer(
                n_components=n_units,
                sparsity_target=rhos[k],
                sparsity_weight=betas[k],
                alpha=alphas[k],
                decoder=self.decoder if k == 0 else "sigmoid",
                corruption_level=noise[k],
                tied_weights=tied[k],
                random_state=fit.random_state.randint(_MAX_SEED),
                **stage_parameters(
                    self.get_params(deep=False), "pretrain_", _AUTOENCODER_SOLVER
                ),
            )
            name = f"pretraining layer {k + 1}"
            with (
                stage_task(fit.context, self, name, max_subtasks=0) as stage,
                stage.propagate_callback_context(ae),
            ):
                features = ae.fit_transform(features, sample_weight=sample_weight)
            if ae._solver_status == INTERRUPTED:
                # a stack with a half-trained layer is no model: stop the fit
                raise KeyboardInterrupt
            # the layer is done: its optimiser state would only weigh on pickles
            ae._solver_state = None
            autoencoders.append(ae)
        return autoencoders, features

    def _fit_softmax(self, fit, features, Y, sample_weight):
        """Softmax regression on the top features, with L-BFGS (as UFLDL)."""
        if self.verbose:
            print(f"Training the softmax layer: {features.shape[1]} -> {Y.shape[1]}")
        sizes = (features.shape[1], Y.shape[1])
        coef, intercept = init_layer(*sizes, features.dtype, fit.random_state)
        solver = make_solver(
            {**self.get_params(deep=False), "softmax_solver": "lbfgs"}, "softmax_"
        )
        with stage_task(fit.context, self, "softmax") as stage:
            result = run_solver(
                solver,
                lambda theta, F, T, sw=None, grad=None, workspace=None: (
                    network_loss_grad(
                        theta,
                        F,
                        T,
                        sizes,
                        alpha=self.softmax_alpha,
                        sample_weight=sw,
                        grad=grad,
                        workspace=workspace,
                    )
                ),
                pack([coef, intercept]),
                (features, Y)
                if sample_weight is None
                else (features, Y, sample_weight),
                progress=SolverProgress(stage, self),
            )
        coef, intercept = (a.copy() for a in unpack(result.theta, layer_shapes(sizes)))
        return coef, intercept, result.loss

    def _fine_tune(self, fit, theta, data, sizes, validation, dropout):
        """Backpropagation through the whole stack with the fit's solver.

        ``data`` is ``(X, Y)`` or ``(X, Y, sample_weight)``; ``validation``
        is ``(X_val, y_val, sample_weight_val)``, X_val None without early
        stopping; ``dropout`` is each hidden layer's dropout rate.
        """
        if self.verbose:
            print("Fine-tuning the whole network")
        rng = fit.random_state
        alphas = self._fine_tune_alphas()
        input_rate = self.fine_tune_input_dropout
        noisy = input_rate > 0 or any(dropout)
        # drawn only when used, so that a fit without dropout is unchanged
        generator = np.random.default_rng(rng.randint(_MAX_SEED)) if noisy else None

        def objective(theta, X, Y, sw=None, grad=None, workspace=None):
            masks = None
            if noisy:  # fresh masks for every minibatch
                X, masks = self._dropout(X, sizes, dropout, generator, workspace)
            return network_loss_grad(
                theta,
                X,
                Y,
                sizes,
                alpha=alphas,
                sample_weight=sw,
                dropout_masks=masks,
                grad=grad,
                workspace=workspace,
            )

        after_update = None
        if self.fine_tune_max_norm is not None:
            max_norm = self.fine_tune_max_norm

            def after_update(theta):
                for coef in unpack(theta, layer_shapes(sizes))[0::2]:
                    clip_column_norms(coef, max_norm)

        X_val, y_val, sw_val = validation
        validation_score = None
        if X_val is not None:

            def validation_score(theta):
                params = unpack(theta, layer_shapes(sizes))
                proba = self._forward(X_val, params[0::2], params[1::2])[-1]
                correct = proba.argmax(axis=1) == y_val
                return float(np.average(correct, weights=sw_val))

        with stage_task(fit.context, self, "fine-tuning") as stage:
            return fit.run(
                objective,
                theta,
                data,
                validation_score=validation_score,
                after_update=after_update,
                context=stage,
            )

    def _dropout(self, X, sizes, rates, generator, workspace):
        """The minibatch's dropped inputs and one mask per hidden layer."""
        m, dtype = X.shape[0], X.dtype
        if self.fine_tune_input_dropout > 0:
            out = None
            if not sp.issparse(X) and workspace is not None:
                out = workspace.get("dropped_input", X.shape, dtype)
            X = masked_copy(
                X, self.fine_tune_input_dropout, generator, rescale=True, out=out
            )
        masks = []
        for k, (units, rate) in enumerate(zip(sizes[1:-1], rates)):
            if not rate:  # no buffer for a layer without dropout
                masks.append(None)
                continue
            out = (
                None
                if workspace is None
                else workspace.get(f"mask{k}", (m, units), dtype)
            )
            masks.append(dropout_mask((m, units), rate, generator, dtype, out))
        return X, masks

    @staticmethod
    def _forward(X, coefs, intercepts, softmax=True):
        """All layers' activations for X, with the weights cast to X's dtype."""
        coefs = [c.astype(X.dtype, copy=False) for c in coefs]
        intercepts = [b.astype(X.dtype, copy=False) for b in intercepts]
        return network_forward(X, coefs, intercepts, softmax=softmax)

    # -- prediction -------------------------------------------------------

    def _validate_for_predict(self, X):
        check_is_fitted(self)
        return validate_data(
            self, X, accept_sparse="csr", dtype=[np.float64, np.float32], reset=False
        )

    def predict_proba(self, X):
        """Compute the class probabilities of the softmax layer.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities of each class, in the order of ``classes_``.
        """
        X = self._validate_for_predict(X)
        return self._forward(X, self.coefs_, self.intercepts_)[-1]

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed stably from the logits.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities of each class.
        """
        X = self._validate_for_predict(X)
        logits = self._forward(X, self.coefs_, self.intercepts_, softmax=False)[-1]
        return log_softmax(logits, axis=1)

    def decision_function(self, X):
        """Compute the softmax layer's scores before normalisation (logits).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
            Logits of each class; for two classes, the logit of
            ``classes_[1]`` minus that of ``classes_[0]``, as scikit-learn's
            binary classifiers return.
        """
        X = self._validate_for_predict(X)
        logits = self._forward(X, self.coefs_, self.intercepts_, softmax=False)[-1]
        if logits.shape[1] == 2:
            return logits[:, 1] - logits[:, 0]
        return logits

    def predict(self, X):
        """Predicted class of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted labels, from ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def pretrained_score(self, X, y):
        """Return the accuracy of the network before fine-tuning.

        The network made of the autoencoders' encoders and the softmax layer
        trained on their features (``pretrained_coefs_``,
        ``pretrained_intercepts_``): the seed's procedure. This is what
        ``score`` gives with ``fine_tune=False``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.
        y : array-like of shape (n_samples,)
            True labels.

        Returns
        -------
        score : float
            Mean accuracy of the pretrained network on (X, y).
        """
        X = self._validate_for_predict(X)
        proba = self._forward(X, self.pretrained_coefs_, self.pretrained_intercepts_)
        # accuracy_score checks y as ClassifierMixin.score does (length, type)
        return float(accuracy_score(y, self.classes_[proba[-1].argmax(axis=1)]))

    def transform(self, X):
        """Compute the top hidden layer's features under the current weights.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        features : ndarray of shape (n_samples, hidden_layer_sizes[-1])
            Activations of the last hidden layer.
        """
        X = self._validate_for_predict(X)
        return self._forward(X, self.coefs_, self.intercepts_)[-2]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        # transform() gives the top hidden layer's features, in X's dtype
        tags.transformer_tags = TransformerTags(preserves_dtype=["float64", "float32"])
        return tags
