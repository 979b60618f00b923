"""SAELens directories: skl_sparse_ae.interop.save_saelens and load_saelens.

The check against SAELens itself (which needs torch) is
``maint_tools/check_saelens.py``; here, the format is checked against what
SAELens 6 writes (the keys of its ``cfg.json``, its tensor names and shapes)
and against SAELens' encoding written in numpy.
"""

import json
import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from skl_sparse_ae import SparseAE, TopKSparseAutoencoder
from skl_sparse_ae._topk_objective import SPARSITY
from skl_sparse_ae.interop import SAELENS_FORMAT_VERSION, load_saelens, save_saelens

st = pytest.importorskip("safetensors.numpy")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# the keys SAELens 6.54.12's SAE.save_model writes, by architecture
BASE_KEYS = {
    "d_in",
    "d_sae",
    "dtype",
    "device",
    "apply_b_dec_to_input",
    "normalize_activations",
    "reshape_activations",
    "metadata",
    "architecture",
}
ARCHITECTURE_KEYS = {
    "topk": {"k", "rescale_acts_by_decoder_norm"},
    "jumprelu": set(),
    "standard": set(),
}
SPARSITIES = [s for s in ("topk", "batch_topk", "l1", "jumprelu") if s in SPARSITY]
ARCHITECTURE = {
    "topk": "topk",
    "batch_topk": "jumprelu",
    "jumprelu": "jumprelu",
    "l1": "standard",
}


@pytest.fixture(scope="module")
def digits():
    return load_digits().data[:400] / 16


def _fit(X, sparsity, dtype=np.float64, **params):
    params = {
        "n_components": 24,
        "k": 4,
        "sparsity": sparsity,
        "max_iter": 3,
        "batch_size": 64,
        "random_state": 0,
        **params,
    }
    return TopKSparseAutoencoder(**params).fit(X.astype(dtype))


def _read(path):
    with open(path / "cfg.json") as f:
        cfg = json.load(f)
    return cfg, st.load_file(str(path / "sae_weights.safetensors"))


def _write(path, cfg, weights):
    path.mkdir(parents=True, exist_ok=True)
    with open(path / "cfg.json", "w") as f:
        json.dump(cfg, f)
    st.save_file(weights, str(path / "sae_weights.safetensors"))
    return path


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sparsity", SPARSITIES)
def test_round_trip(tmp_path, digits, sparsity, dtype):
    X = digits.astype(dtype)
    sae = _fit(X, sparsity, dtype)
    path = save_saelens(sae, tmp_path / "sae")
    assert sorted(p.name for p in path.iterdir()) == [
        "cfg.json",
        "sae_weights.safetensors",
    ]

    cfg, weights = _read(path)
    architecture = ARCHITECTURE[sparsity]
    assert set(cfg) == BASE_KEYS | ARCHITECTURE_KEYS[architecture]
    assert cfg["architecture"] == architecture
    assert cfg["d_in"] == 64
    assert cfg["d_sae"] == 24
    assert cfg["dtype"] == np.dtype(dtype).name
    assert cfg["device"] == "cpu"
    assert cfg["apply_b_dec_to_input"] is True
    assert cfg["normalize_activations"] == "none"
    assert cfg["reshape_activations"] == "none"
    assert cfg["metadata"]["sae_lens_version"] == SAELENS_FORMAT_VERSION
    ours = cfg["metadata"]["skl_sparse_ae"]
    assert ours["sparsity"] == sparsity
    assert ours["params"]["k"] == 4
    if architecture == "topk":
        assert cfg["k"] == 4
        assert cfg["rescale_acts_by_decoder_norm"] is False

    expected = {"W_enc": (64, 24), "W_dec": (24, 64), "b_enc": (24,), "b_dec": (64,)}
    if architecture == "jumprelu":
        expected["threshold"] = (24,)
    assert {name: w.shape for name, w in weights.items()} == expected
    assert all(w.dtype == dtype for w in weights.values())
    np.testing.assert_array_equal(weights["W_enc"], sae.coefs_[0])
    np.testing.assert_array_equal(weights["W_dec"], sae.coefs_[1])
    np.testing.assert_array_equal(weights["b_enc"], sae.intercepts_[0])
    np.testing.assert_array_equal(weights["b_dec"], sae.intercepts_[1])
    if architecture == "jumprelu":
        np.testing.assert_array_equal(weights["threshold"], sae.threshold_)

    loaded = load_saelens(path)
    check_is_fitted(loaded)
    assert isinstance(loaded, TopKSparseAutoencoder)
    assert loaded.get_params() == sae.get_params()
    codes = loaded.transform(X)
    assert codes.dtype == dtype
    np.testing.assert_array_equal(codes, sae.transform(X))
    np.testing.assert_array_equal(
        loaded.inverse_transform(codes), sae.inverse_transform(codes)
    )
    assert loaded.score(X) == sae.score(X)
    np.testing.assert_array_equal(
        loaded.get_feature_names_out(), sae.get_feature_names_out()
    )
    if sae.threshold_ is None:
        assert loaded.threshold_ is None
    else:
        np.testing.assert_array_equal(loaded.threshold_, sae.threshold_)
    np.testing.assert_array_equal(loaded.components_, sae.components_)


def test_batch_topk_thresholds_never_selected_are_kept(tmp_path, digits):
    # a latent never selected in training has threshold inf: never active
    sae = _fit(digits, "batch_topk")
    sae.threshold_[:3] = np.inf
    loaded = load_saelens(save_saelens(sae, tmp_path))
    assert np.all(np.isinf(loaded.threshold_[:3]))
    codes = loaded.transform(digits)
    assert not codes[:, :3].any()
    np.testing.assert_array_equal(codes, sae.transform(digits))


@pytest.mark.parametrize("sparsity", ["topk", "batch_topk", "l1"])
def test_save_in_another_dtype(tmp_path, digits, sparsity):
    sae = _fit(digits, sparsity)
    path = save_saelens(sae, tmp_path, dtype="float32")
    cfg, weights = _read(path)
    assert cfg["dtype"] == "float32"
    assert all(w.dtype == np.float32 for w in weights.values())
    loaded = load_saelens(path)
    assert loaded.coefs_[0].dtype == np.float32
    np.testing.assert_allclose(
        loaded.transform(digits), sae.transform(digits), rtol=1e-4, atol=1e-5
    )


def test_feature_names_and_parameters_come_back(tmp_path, digits):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(digits, columns=[f"pixel{i}" for i in range(64)])
    sae = TopKSparseAutoencoder(
        n_components=16, k=3, max_iter=2, learning_rate="cosine", random_state=1
    ).fit(frame)
    loaded = load_saelens(save_saelens(sae, tmp_path))
    np.testing.assert_array_equal(loaded.feature_names_in_, sae.feature_names_in_)
    assert loaded.get_params() == sae.get_params()
    np.testing.assert_array_equal(loaded.transform(frame), sae.transform(frame))


def test_loaded_estimator_can_be_trained_further(tmp_path, digits):
    sae = _fit(digits, "batch_topk")
    loaded = load_saelens(save_saelens(sae, tmp_path))
    assert loaded._variance == sae._variance
    loaded.partial_fit(digits)
    assert loaded.n_iter_ == 1
    assert loaded.transform(digits).shape == (400, 24)


def test_overwrite(tmp_path, digits):
    sae = _fit(digits, "topk")
    save_saelens(sae, tmp_path)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_saelens(sae, tmp_path)
    other = _fit(digits, "topk", random_state=1)
    save_saelens(other, tmp_path, overwrite=True)
    np.testing.assert_array_equal(
        load_saelens(tmp_path).transform(digits), other.transform(digits)
    )


def test_save_refuses_other_estimators_and_unfitted_ones(tmp_path, digits):
    with pytest.raises(TypeError, match="SparseAutoencoderTransformer"):
        save_saelens(SparseAE(n_components=4, max_iter=1).fit(digits[:50]), tmp_path)
    with pytest.raises(NotFittedError):
        save_saelens(TopKSparseAutoencoder(), tmp_path)
    with pytest.raises(ValueError, match="dtype must be one of"):
        save_saelens(_fit(digits, "topk"), tmp_path, dtype="bfloat16")
    assert not any(tmp_path.iterdir())


# -- directories written as SAELens writes them ------------------------------


def _saelens_weights(rng, d_in, d_sae, dtype=np.float32):
    W_dec = rng.normal(size=(d_sae, d_in))
    return {
        "W_enc": (W_dec.T * 0.5 + rng.normal(scale=0.1, size=(d_in, d_sae))),
        "W_dec": W_dec,
        "b_enc": rng.normal(scale=0.2, size=d_sae),
        "b_dec": rng.normal(scale=0.2, size=d_in),
    }


def _cfg(architecture, d_in, d_sae, **extra):
    # what SAELens 6.54.12's save_model writes (before "architecture" its keys)
    return {
        "d_in": d_in,
        "d_sae": d_sae,
        "dtype": "float32",
        "device": "cpu",
        "apply_b_dec_to_input": True,
        "normalize_activations": "none",
        "reshape_activations": "none",
        "metadata": {
            "sae_lens_version": "6.54.12",
            "sae_lens_training_version": "6.54.12",
        },
        **extra,
        "architecture": architecture,
    }


def _as(weights, dtype):
    return {name: np.ascontiguousarray(w, dtype=dtype) for name, w in weights.items()}


def _saelens_encode(x, w, architecture, apply_b_dec_to_input=True, k=None):
    """SAELens' encode, in numpy (sae_lens/saes/*_sae.py)."""
    sae_in = x - w["b_dec"] if apply_b_dec_to_input else x
    pre = sae_in @ w["W_enc"] + w["b_enc"]
    if architecture == "standard":
        return np.maximum(pre, 0)
    if architecture == "jumprelu":
        return np.maximum(pre, 0) * (pre > w["threshold"])
    top = np.argsort(-pre, axis=1)[:, :k]
    codes = np.zeros_like(pre)
    np.put_along_axis(codes, top, np.maximum(np.take_along_axis(pre, top, 1), 0), 1)
    return codes


@pytest.mark.parametrize("apply_b_dec_to_input", [True, False])
@pytest.mark.parametrize("architecture", ["topk", "jumprelu", "standard"])
def test_load_a_directory_written_by_hand(tmp_path, architecture, apply_b_dec_to_input):
    rng = np.random.default_rng(0)
    d_in, d_sae = 6, 10
    weights = _saelens_weights(rng, d_in, d_sae)
    extra = {}
    if architecture == "topk":
        extra = {"k": 3, "rescale_acts_by_decoder_norm": False}
    if architecture == "jumprelu":
        # negative thresholds act as 0 (SAELens' ReLU comes first)
        weights["threshold"] = rng.uniform(-0.2, 0.5, size=d_sae)
    weights = _as(weights, np.float32)
    cfg = _cfg(architecture, d_in, d_sae, **extra)
    cfg["apply_b_dec_to_input"] = apply_b_dec_to_input
    path = _write(tmp_path / architecture, cfg, weights)

    sae = load_saelens(path)
    check_is_fitted(sae)
    assert sae.n_components == d_sae
    assert sae.n_features_in_ == d_in
    expected_sparsity = {
        "topk": "topk",
        "standard": "l1",
        "jumprelu": "jumprelu" if "jumprelu" in SPARSITY else "batch_topk",
    }[architecture]
    assert sae.sparsity == expected_sparsity
    if architecture == "topk":
        assert sae.k == 3
    x = rng.normal(size=(50, d_in)).astype(np.float32)
    expected = _saelens_encode(
        x, weights, architecture, apply_b_dec_to_input, k=extra.get("k")
    )
    np.testing.assert_allclose(sae.transform(x), expected, rtol=1e-5, atol=1e-6)
    # SAELens' decode: z @ W_dec + b_dec
    np.testing.assert_allclose(
        sae.inverse_transform(expected),
        expected @ weights["W_dec"] + weights["b_dec"],
        rtol=1e-5,
        atol=1e-6,
    )


def test_topk_rescaled_by_decoder_norm_is_folded(tmp_path):
    rng = np.random.default_rng(1)
    d_in, d_sae, k = 5, 12, 4
    w = _as(_saelens_weights(rng, d_in, d_sae), np.float64)
    w["W_dec"] *= rng.uniform(0.2, 3, size=(d_sae, 1))
    cfg = _cfg("topk", d_in, d_sae, k=k, rescale_acts_by_decoder_norm=True)
    cfg["dtype"] = "float64"
    sae = load_saelens(_write(tmp_path, cfg, w))
    np.testing.assert_allclose(np.linalg.norm(sae.components_, axis=1), 1)

    # SAELens' TopKSAE with rescale_acts_by_decoder_norm (topk_sae.py)
    x = rng.normal(size=(40, d_in))
    norms = np.linalg.norm(w["W_dec"], axis=1)
    pre = ((x - w["b_dec"]) @ w["W_enc"] + w["b_enc"]) * norms
    top = np.argsort(-pre, axis=1)[:, :k]
    z = np.zeros_like(pre)
    np.put_along_axis(z, top, np.maximum(np.take_along_axis(pre, top, 1), 0), 1)
    x_hat = (z / norms) @ w["W_dec"] + w["b_dec"]
    np.testing.assert_allclose(sae.transform(x), z, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sae.inverse_transform(z), x_hat, rtol=1e-12)


def test_load_casts_to_the_configured_dtype(tmp_path):
    # SAELens loads every tensor in cfg.json's dtype
    rng = np.random.default_rng(2)
    w = _as(_saelens_weights(rng, 4, 8), np.float64)
    cfg = _cfg("standard", 4, 8)
    sae = load_saelens(_write(tmp_path / "a", cfg, w))
    assert sae.coefs_[0].dtype == np.float32
    cfg["dtype"] = "float16"
    sae = load_saelens(_write(tmp_path / "b", cfg, _as(w, np.float16)))
    assert sae.coefs_[0].dtype == np.float32
    np.testing.assert_array_equal(sae.coefs_[0], w["W_enc"].astype(np.float16))


def test_load_keeps_a_scaling_factor_of_ones_only(tmp_path):
    rng = np.random.default_rng(3)
    w = _as(_saelens_weights(rng, 4, 8), np.float32)
    cfg = _cfg("standard", 4, 8)
    w["scaling_factor"] = np.ones(8, np.float32)
    load_saelens(_write(tmp_path / "ones", cfg, w))
    w["scaling_factor"] = np.full(8, 2, np.float32)
    with pytest.raises(ValueError, match="scaling_factor"):
        load_saelens(_write(tmp_path / "twos", cfg, w))


# -- bad directories ------------------------------------------------------------


@pytest.fixture
def good(tmp_path):
    rng = np.random.default_rng(4)
    w = _as(_saelens_weights(rng, 4, 8), np.float32)
    return tmp_path, _cfg("topk", 4, 8, k=2, rescale_acts_by_decoder_norm=False), w


def test_missing_directory_and_files(good):
    tmp_path, cfg, w = good
    with pytest.raises(FileNotFoundError, match="not a directory"):
        load_saelens(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="no cfg.json"):
        load_saelens(tmp_path)
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    with pytest.raises(FileNotFoundError, match="no sae_weights.safetensors"):
        load_saelens(tmp_path)
    (tmp_path / "sae_weights.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(ValueError, match="could not be read"):
        load_saelens(tmp_path)
    (tmp_path / "cfg.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_saelens(tmp_path)


@pytest.mark.parametrize(
    "change, match",
    [
        ({"architecture": "gated"}, "architecture 'gated' is not supported"),
        ({"architecture": "batchtopk"}, "saves BatchTopK models for inference"),
        ({"normalize_activations": "layer_norm"}, "normalize_activations"),
        ({"reshape_activations": "other"}, "reshape_activations"),
        ({"d_sae": 0}, "'d_sae' must be a positive integer"),
        ({"d_in": "4"}, "'d_in' must be a positive integer"),
        ({"k": None}, "needs a positive integer 'k'"),
        ({"d_sae": 9}, "W_enc has shape"),
    ],
)
def test_bad_configuration(good, change, match):
    tmp_path, cfg, w = good
    with pytest.raises(ValueError, match=match):
        load_saelens(_write(tmp_path, {**cfg, **change}, w))


def test_bad_tensors(good):
    tmp_path, cfg, w = good
    with pytest.raises(ValueError, match=r"missing \['b_enc'\]"):
        load_saelens(_write(tmp_path / "a", cfg, {n: w[n] for n in w if n != "b_enc"}))
    extra = {**w, "log_threshold": np.zeros(8, np.float32)}
    with pytest.raises(ValueError, match=r"unexpected \['log_threshold'\]"):
        load_saelens(_write(tmp_path / "b", cfg, extra))
    with pytest.raises(ValueError, match=r"missing \['threshold'\]"):
        load_saelens(_write(tmp_path / "c", {**cfg, "architecture": "jumprelu"}, w))
    bad = {**w, "b_dec": np.zeros(5, np.float32)}
    with pytest.raises(ValueError, match=r"b_dec has shape \(5,\)"):
        load_saelens(_write(tmp_path / "d", cfg, bad))


def test_clear_error_without_safetensors(monkeypatch, tmp_path, digits):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match=r"pip install skl_sparse_ae\[safetensors\]"):
        save_saelens(_fit(digits, "topk"), tmp_path)
    (tmp_path / "cfg.json").write_text(json.dumps(_cfg("standard", 4, 8)))
    with pytest.raises(ImportError, match=r"pip install skl_sparse_ae\[safetensors\]"):
        load_saelens(tmp_path)


# -- JumpReLU, once the estimator has it ------------------------------------------


@pytest.mark.skipif(
    "jumprelu" not in SPARSITY,
    reason="sparsity='jumprelu' is not in skl_sparse_ae._topk_objective.SPARSITY yet",
)
def test_jumprelu_negative_threshold_cannot_be_written(tmp_path, digits):
    sae = _fit(digits, "jumprelu")
    sae.threshold_ = sae.threshold_.copy()
    sae.threshold_[0] = -0.1
    with pytest.raises(ValueError, match="negative threshold_"):
        save_saelens(sae, tmp_path)


def test_jumprelu_directory_without_our_metadata(tmp_path):
    # A JumpReLU SAE from SAELens: read with this package's threshold rule
    rng = np.random.default_rng(5)
    w = _saelens_weights(rng, 4, 8)
    w["threshold"] = rng.uniform(0, 0.5, size=8)
    sae = load_saelens(_write(tmp_path, _cfg("jumprelu", 4, 8), _as(w, np.float32)))
    assert sae.sparsity == ("jumprelu" if "jumprelu" in SPARSITY else "batch_topk")
    np.testing.assert_array_equal(sae.threshold_, w["threshold"].astype(np.float32))
