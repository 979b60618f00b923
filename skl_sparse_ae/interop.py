"""SAELens directories: write a fitted TopK autoencoder as one, read one back.

A SAELens directory (the format of the SAELens library and of the sparse
autoencoders it publishes) holds two files:

- ``cfg.json``: the configuration, with the ``architecture`` (``"topk"``,
  ``"jumprelu"``, ``"standard"``), ``d_in`` (n_features), ``d_sae``
  (n_components), ``dtype``, ``device``, ``apply_b_dec_to_input``,
  ``normalize_activations``, ``reshape_activations``, ``metadata`` and the
  architecture's own keys (``k`` and ``rescale_acts_by_decoder_norm`` for
  ``"topk"``);
- ``sae_weights.safetensors``: ``W_enc`` (d_in, d_sae), ``W_dec``
  (d_sae, d_in), ``b_enc`` (d_sae,), ``b_dec`` (d_in,) and, for
  ``"jumprelu"``, ``threshold`` (d_sae,).

The layout is SAELens 6's (checked against SAELens 6.54.12, see
:data:`SAELENS_FORMAT_VERSION`): its ``SAE.save_model`` writes it and
``SAE.load_from_disk`` reads it. The weights have the same layout and the
same model as :class:`~skl_sparse_ae.TopKSparseAutoencoder`'s
(``pre = (x - b_dec) @ W_enc + b_enc``, SAELens'
``apply_b_dec_to_input=True``), so that the mapping is exact:

=====================  ==================  ==========================
``sparsity``           ``architecture``    codes in SAELens
=====================  ==================  ==========================
``"topk"``             ``"topk"``          ``ReLU(TopK_k(pre))``
``"batch_topk"``       ``"jumprelu"``      ``ReLU(pre) * (pre > threshold)``
``"jumprelu"``         ``"jumprelu"``      ``ReLU(pre) * (pre > threshold)``
``"l1"``               ``"standard"``      ``ReLU(pre)``
=====================  ==================  ==========================

A BatchTopK model is saved for inference as a JumpReLU one, its per-latent
thresholds ``threshold_`` as ``threshold``, as SAELens saves its own
BatchTopK models. The estimator's hyper-parameters (``k`` of a BatchTopK
model among them) go to ``cfg.json``'s ``metadata["skl_sparse_ae"]``, which
SAELens keeps and ignores, so that :func:`load_saelens` gives back the same
estimator. The training history (``loss_curve_``, ``n_iter_``,
``activation_frequency_``, the optimiser's state) is not saved.

The functions need ``safetensors`` (``pip install skl_sparse_ae[safetensors]``),
whose numpy API needs no torch; the module imports without it.
"""

import json
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._topk import TopKSparseAutoencoder
from ._topk_objective import SPARSITY, LatentStats

__all__ = ["SAELENS_FORMAT_VERSION", "load_saelens", "save_saelens"]

#: The SAELens release whose directory format this module writes and reads
#: (written as ``metadata["sae_lens_version"]``, which SAELens reads to tell
#: its format >= 6.0 from the older one).
SAELENS_FORMAT_VERSION = "6.54.12"

CFG_FILENAME = "cfg.json"
WEIGHTS_FILENAME = "sae_weights.safetensors"

# our sparsity -> SAELens inference architecture
_ARCHITECTURE = {
    "topk": "topk",
    "batch_topk": "jumprelu",
    "jumprelu": "jumprelu",
    "l1": "standard",
}
_SUPPORTED_ARCHITECTURES = ("topk", "jumprelu", "standard")
_DTYPES = ("float32", "float64", "float16")
_METADATA_KEY = "skl_sparse_ae"


def _safetensors_numpy():
    try:
        import safetensors.numpy
    except ImportError as exc:
        raise ImportError(
            "Reading and writing SAELens directories needs safetensors: "
            "pip install skl_sparse_ae[safetensors]"
        ) from exc
    return safetensors.numpy


def _json_params(estimator):
    """The estimator's parameters that JSON keeps as they are."""
    params = {}
    for name, value in estimator.get_params(deep=False).items():
        if value is None or isinstance(value, (bool, str)):
            params[name] = value
        elif isinstance(value, Integral):
            params[name] = int(value)
        elif isinstance(value, Real) and np.isfinite(value):
            params[name] = float(value)
        # a RandomState instance, for example, is left out
    return params


def save_saelens(estimator, path, *, dtype=None, overwrite=False):
    """Write a fitted TopK autoencoder as a SAELens directory.

    Writes ``cfg.json`` and ``sae_weights.safetensors`` into ``path``
    (created if needed), which ``SAE.load_from_disk(path)`` of SAELens and
    :func:`load_saelens` read. ``sparsity="topk"`` is saved as SAELens'
    ``"topk"`` architecture, ``"batch_topk"`` and ``"jumprelu"`` as
    ``"jumprelu"`` (the per-latent thresholds ``threshold_``), ``"l1"`` as
    ``"standard"``; SAELens then encodes rows as ``transform`` does.

    Parameters
    ----------
    estimator : TopKSparseAutoencoder
        A fitted estimator.
    path : str or path-like
        The directory to write.
    dtype : {"float32", "float64", "float16"} or None, default=None
        The dtype of the saved weights (and ``cfg.json``'s ``dtype``, in
        which SAELens loads them); None keeps the estimator's
        (``coefs_[0].dtype``).
    overwrite : bool, default=False
        Replace a ``cfg.json`` or ``sae_weights.safetensors`` already in
        ``path``; otherwise they raise ``FileExistsError``.

    Returns
    -------
    path : pathlib.Path
        The directory written.

    Raises
    ------
    TypeError
        If ``estimator`` is not a :class:`~skl_sparse_ae.TopKSparseAutoencoder`
        (the classic sparse autoencoder has no SAELens architecture).
    sklearn.exceptions.NotFittedError
        If ``estimator`` is not fitted.
    ImportError
        If safetensors is not installed.

    See Also
    --------
    load_saelens : Read a SAELens directory into a fitted estimator.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skl_sparse_ae import TopKSAE
    >>> from skl_sparse_ae.interop import load_saelens, save_saelens
    >>> X = load_digits().data / 16
    >>> sae = TopKSAE(n_components=32, k=4, max_iter=3, random_state=0).fit(X)
    >>> path = save_saelens(sae, tempfile.mkdtemp())
    >>> sorted(p.name for p in path.iterdir())
    ['cfg.json', 'sae_weights.safetensors']
    >>> loaded = load_saelens(path)
    >>> bool(np.array_equal(loaded.transform(X), sae.transform(X)))
    True
    """
    if not isinstance(estimator, TopKSparseAutoencoder):
        raise TypeError(
            "save_saelens writes a TopKSparseAutoencoder (sparsity 'topk', "
            "'batch_topk', 'jumprelu' or 'l1'); got "
            f"{type(estimator).__name__}, which has no SAELens architecture."
        )
    check_is_fitted(estimator)
    if dtype is not None and dtype not in _DTYPES:
        raise ValueError(f"dtype must be one of {_DTYPES} or None; got {dtype!r}.")
    st = _safetensors_numpy()

    W_enc, W_dec = estimator.coefs_
    b_enc, b_dec = estimator.intercepts_
    dtype = np.dtype(W_enc.dtype if dtype is None else dtype).name
    sparsity = estimator.sparsity
    architecture = _ARCHITECTURE[sparsity]
    d_in, d_sae = W_enc.shape
    weights = {"W_enc": W_enc, "W_dec": W_dec, "b_enc": b_enc, "b_dec": b_dec}
    if architecture == "jumprelu":
        threshold = np.asarray(estimator.threshold_)
        if sparsity == "jumprelu" and np.any(threshold < 0):
            # SAELens takes ReLU(pre) * (pre > threshold): a negative threshold
            # would let our negative codes through, not SAELens'.
            raise ValueError(
                "SAELens' JumpReLU applies a ReLU before its threshold, so the "
                "codes of a negative threshold_ cannot be written; "
                f"{int((threshold < 0).sum())} latents have one."
            )
        weights["threshold"] = threshold
    weights = {
        name: np.ascontiguousarray(array, dtype=dtype)
        for name, array in weights.items()
    }

    ours = {
        "estimator": type(estimator).__name__,
        "sparsity": sparsity,
        "params": _json_params(estimator),
    }
    if hasattr(estimator, "feature_names_in_"):
        ours["feature_names_in"] = [str(name) for name in estimator.feature_names_in_]
    if isinstance(getattr(estimator, "_variance", None), Real):
        # the loss's scale ("fvu"), for fine-tuning the loaded estimator
        ours["variance"] = float(estimator._variance)
    cfg = {
        "d_in": int(d_in),
        "d_sae": int(d_sae),
        "dtype": dtype,
        "device": "cpu",
        "apply_b_dec_to_input": True,
        "normalize_activations": "none",
        "reshape_activations": "none",
        "metadata": {
            "sae_lens_version": SAELENS_FORMAT_VERSION,
            "sae_lens_training_version": None,
            _METADATA_KEY: ours,
        },
    }
    if architecture == "topk":
        cfg["k"] = int(min(estimator.k, d_sae))
        # our decoder rows have unit norm: nothing to rescale
        cfg["rescale_acts_by_decoder_norm"] = False
    cfg["architecture"] = architecture

    path = Path(path)
    if not overwrite:
        for name in (CFG_FILENAME, WEIGHTS_FILENAME):
            if (path / name).exists():
                raise FileExistsError(
                    f"{path / name} exists; pass overwrite=True to replace it."
                )
    path.mkdir(parents=True, exist_ok=True)
    st.save_file(weights, str(path / WEIGHTS_FILENAME))
    with open(path / CFG_FILENAME, "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2, allow_nan=False)
        f.write("\n")
    return path


def _read_cfg(path):
    cfg_path = path / CFG_FILENAME
    if not path.is_dir():
        raise FileNotFoundError(f"{path} is not a directory (a SAELens directory).")
    if not cfg_path.is_file():
        raise FileNotFoundError(
            f"{path} has no {CFG_FILENAME}: not a SAELens directory."
        )
    try:
        with open(cfg_path, encoding="utf-8") as f:
            cfg = json.load(f)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{cfg_path} is not valid JSON: {exc}") from exc
    if not isinstance(cfg, dict):
        raise ValueError(f"{cfg_path} does not hold a JSON object.")
    for key in ("d_in", "d_sae"):
        if not isinstance(cfg.get(key), int) or cfg[key] < 1:
            raise ValueError(
                f"{cfg_path}: {key!r} must be a positive integer; got {cfg.get(key)!r}."
            )
    # SAELens' own default, before version 6, was "standard"
    architecture = cfg.get("architecture", "standard")
    if architecture not in _SUPPORTED_ARCHITECTURES:
        hint = (
            " (a SAELens training architecture: SAELens saves BatchTopK models "
            "for inference as 'jumprelu')"
            if architecture in ("batchtopk", "matryoshka_batchtopk")
            else ""
        )
        raise ValueError(
            f"{cfg_path}: architecture {architecture!r} is not supported{hint}; "
            f"supported: {', '.join(_SUPPORTED_ARCHITECTURES)}."
        )
    normalize = cfg.get("normalize_activations", "none")
    if normalize not in ("none", None, False):
        raise ValueError(
            f"{cfg_path}: normalize_activations={normalize!r} is not supported: "
            "only 'none' (rows encoded as they are) has the same codes here."
        )
    reshape = cfg.get("reshape_activations", "none")
    if reshape not in ("none", "hook_z"):
        raise ValueError(
            f"{cfg_path}: reshape_activations={reshape!r} is not supported."
        )
    if architecture == "topk" and not (isinstance(cfg.get("k"), int) and cfg["k"] >= 1):
        raise ValueError(
            f"{cfg_path}: a 'topk' configuration needs a positive integer 'k'; "
            f"got {cfg.get('k')!r}."
        )
    return cfg, architecture


def _read_weights(path, cfg, architecture):
    st = _safetensors_numpy()
    weights_path = path / WEIGHTS_FILENAME
    if not weights_path.is_file():
        raise FileNotFoundError(f"{path} has no {WEIGHTS_FILENAME}.")
    try:
        weights = st.load_file(str(weights_path))
    except Exception as exc:  # safetensors raises its own error types
        raise ValueError(
            f"{weights_path} could not be read with safetensors.numpy ({exc}); "
            "bfloat16 weights have no numpy dtype."
        ) from exc
    d_in, d_sae = cfg["d_in"], cfg["d_sae"]
    shapes = {
        "W_enc": (d_in, d_sae),
        "W_dec": (d_sae, d_in),
        "b_enc": (d_sae,),
        "b_dec": (d_in,),
    }
    if architecture == "jumprelu":
        shapes["threshold"] = (d_sae,)
    # SAELens drops a scaling_factor of ones (an old format's leftover)
    scaling = weights.pop("scaling_factor", None)
    if scaling is not None and not np.all(scaling == 1):
        raise ValueError(
            f"{weights_path}: a scaling_factor other than 1 (SAELens' "
            "finetuning_scaling_factor) is not supported."
        )
    missing = sorted(set(shapes) - set(weights))
    unexpected = sorted(set(weights) - set(shapes))
    if missing or unexpected:
        raise ValueError(
            f"{weights_path}: a {architecture!r} SAE has tensors "
            f"{sorted(shapes)}; missing {missing}, unexpected {unexpected}."
        )
    for name, shape in shapes.items():
        if weights[name].shape != shape:
            raise ValueError(
                f"{weights_path}: {name} has shape {weights[name].shape}, but "
                f"cfg.json's d_in={d_in}, d_sae={d_sae} give {shape}."
            )
    # SAELens loads the weights in cfg.json's dtype; ours are float32 or float64
    dtype = str(cfg.get("dtype", "float32")).removeprefix("torch.")
    dtype = np.dtype(dtype if dtype in ("float32", "float64") else "float32")
    return {name: np.array(array, dtype=dtype) for name, array in weights.items()}


def load_saelens(path):
    """Read a SAELens directory into a fitted TopK autoencoder.

    Reads ``cfg.json`` and ``sae_weights.safetensors`` (written by
    :func:`save_saelens` or by SAELens' ``SAE.save_model``) and returns a
    fitted :class:`~skl_sparse_ae.TopKSparseAutoencoder` whose
    ``transform`` gives SAELens' ``encode`` and whose ``inverse_transform``
    its ``decode``: SAELens' ``"topk"`` architecture gives
    ``sparsity="topk"`` with its ``k``, ``"standard"`` gives ``"l1"``, and
    ``"jumprelu"`` gives ``"jumprelu"`` (``"batch_topk"``, whose
    ``transform`` is the same threshold rule, while this package has no
    ``"jumprelu"``, or when the directory was written from a BatchTopK
    model). A directory written by :func:`save_saelens` gives back the
    saved estimator's parameters.

    Parameters
    ----------
    path : str or path-like
        The SAELens directory.

    Returns
    -------
    estimator : TopKSparseAutoencoder
        The fitted estimator: ``coefs_``, ``intercepts_``, ``components_``,
        ``threshold_`` and ``n_features_in_`` are set (not the training
        history, such as ``loss_curve_`` or ``activation_frequency_``).

    Raises
    ------
    FileNotFoundError
        If ``path`` or one of its two files is missing.
    ValueError
        If the directory is not one this function can read exactly: an
        unsupported architecture or ``normalize_activations``, missing,
        unexpected or misshapen tensors.
    ImportError
        If safetensors is not installed.

    See Also
    --------
    save_saelens : Write a fitted estimator as a SAELens directory.

    Notes
    -----
    Some SAELens options are folded into the weights, exactly in exact
    arithmetic: ``apply_b_dec_to_input=False`` into ``b_enc`` (``b_enc +
    b_dec @ W_enc``), and a ``"topk"`` SAE's
    ``rescale_acts_by_decoder_norm=True`` into unit-norm decoder rows (the
    norms move to ``W_enc`` and ``b_enc``). A JumpReLU threshold below 0 is
    read as 0, since SAELens applies a ReLU before the threshold. bfloat16
    weights cannot be read (numpy has no bfloat16); float16 ones are read as
    float32.

    Examples
    --------
    >>> import json
    >>> import tempfile
    >>> import numpy as np
    >>> from skl_sparse_ae.interop import load_saelens
    >>> from safetensors.numpy import save_file
    >>> path = tempfile.mkdtemp()
    >>> rng = np.random.default_rng(0)
    >>> W_dec = rng.normal(size=(8, 4)).astype(np.float32)
    >>> weights = {"W_enc": W_dec.T.copy(), "W_dec": W_dec,
    ...            "b_enc": np.zeros(8, np.float32), "b_dec": np.zeros(4, np.float32)}
    >>> save_file(weights, f"{path}/sae_weights.safetensors")
    >>> cfg = {"architecture": "topk", "d_in": 4, "d_sae": 8, "k": 2,
    ...        "dtype": "float32", "metadata": {"sae_lens_version": "6.0.0"}}
    >>> with open(f"{path}/cfg.json", "w") as f:
    ...     json.dump(cfg, f)
    >>> sae = load_saelens(path)
    >>> sae
    TopKSparseAutoencoder(k=2, n_components=8)
    >>> int((sae.transform(rng.normal(size=(3, 4))) != 0).sum(axis=1).max())
    2
    """
    path = Path(path)
    cfg, architecture = _read_cfg(path)
    weights = _read_weights(path, cfg, architecture)
    W_enc, W_dec = weights["W_enc"], weights["W_dec"]
    b_enc, b_dec = weights["b_enc"], weights["b_dec"]
    if not cfg.get("apply_b_dec_to_input", True):
        # x @ W_enc + b_enc == (x - b_dec) @ W_enc + (b_enc + b_dec @ W_enc)
        b_enc = b_enc + b_dec @ W_enc
    threshold = None
    if architecture == "topk" and cfg.get("rescale_acts_by_decoder_norm", False):
        # SAELens ranks pre * ||W_dec[j]|| and decodes (z / ||W_dec[j]||) @ W_dec:
        # the same as unit-norm decoder rows with the norms folded into W_enc
        norms = np.maximum(np.linalg.norm(W_dec, axis=1), 1e-8)
        W_dec = W_dec / norms[:, np.newaxis]
        W_enc = W_enc * norms
        b_enc = b_enc * norms
    if architecture == "jumprelu":
        threshold = np.maximum(weights["threshold"], 0)

    metadata = cfg.get("metadata") or {}
    ours = metadata.get(_METADATA_KEY) if isinstance(metadata, dict) else None
    ours = ours if isinstance(ours, dict) else {}
    valid = TopKSparseAutoencoder().get_params(deep=False)
    params = {
        name: value
        for name, value in (ours.get("params") or {}).items()
        if name in valid
    }
    if architecture == "topk":
        sparsity = "topk"
        params["k"] = cfg["k"]
    elif architecture == "standard":
        sparsity = "l1"
    elif ours.get("sparsity") == "batch_topk" or "jumprelu" not in SPARSITY:
        sparsity = "batch_topk"
    else:
        sparsity = "jumprelu"
    params["sparsity"] = sparsity
    params["n_components"] = cfg["d_sae"]
    estimator = TopKSparseAutoencoder(**params)
    estimator._validate_params()

    estimator.coefs_ = [W_enc, W_dec]
    estimator.intercepts_ = [b_enc, b_dec]
    estimator.components_ = W_dec
    estimator.threshold_ = threshold
    estimator.n_features_in_ = cfg["d_in"]
    names = ours.get("feature_names_in")
    if isinstance(names, list) and len(names) == cfg["d_in"]:
        estimator.feature_names_in_ = np.asarray(names, dtype=object)
    variance = ours.get("variance")
    estimator._variance = float(variance) if isinstance(variance, Real) else 1.0
    estimator._sparsity = estimator._make_sparsity(estimator._variance, None)
    # what fine-tuning (warm_start, partial_fit) continues from
    stats = LatentStats(estimator.n_components, W_enc.dtype)
    if threshold is not None:
        stats.threshold = threshold.copy()
    estimator._latent_stats = stats
    estimator._solver_state = None
    return estimator
