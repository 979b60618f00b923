"""Tests of the command line interface (skl-sparse-ae / python -m skl_sparse_ae)."""

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

from skl_sparse_ae import __version__
from skl_sparse_ae._cli import main
from skl_sparse_ae.datasets import write_idx

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FIGURES = ["samples.png", "filters_layer1.png", "filters_layer2.png", "loss_curves.png"]
# A small, fast network: each run takes well under a second.
QUICK = [
    "--n-train",
    "300",
    "--hidden",
    "16",
    "8",
    "--pretrain-max-iter",
    "3",
    "--max-iter",
    "3",
    "--threads",
    "1",
]


def run(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def read_results(folder):
    return json.loads((folder / "results.json").read_text(encoding="utf-8"))


@pytest.fixture
def mnist_dir(tmp_path):
    """Tiny MNIST: 60 training and 20 test random 28x28 images, labels 0..9."""
    folder = tmp_path / "mnist"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for prefix, n_images in [("train", 60), ("t10k", 20)]:
        images = rng.integers(0, 256, size=(n_images, 28, 28), dtype=np.uint8)
        labels = (np.arange(n_images) % 10).astype(np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return folder


def test_digits_run_writes_figures_and_results(tmp_path, capsys):
    code, out, err = run(capsys, *QUICK, "--output-dir", tmp_path)
    assert code == 0, err
    assert err == ""

    # progress of the CLI and of the classifier (verbose=1)
    assert "Loaded digits" in out
    assert "Pretraining layer 1: 64 -> 16" in out
    assert "Pretraining layer 2: 16 -> 8" in out
    assert "Iteration 1, loss = " in out
    assert "Fine-tuning the whole network" in out
    assert "Test accuracy before fine-tuning" in out
    assert "Test accuracy after fine-tuning" in out
    assert "accuracy" in out
    assert "fit" in out and "total" in out
    # max_iter=3 cannot converge: one note, not a stream of warnings
    assert out.count("note: the solver stopped at max_iter") == 1
    assert "Warning" not in out + err

    for name in FIGURES:
        content = (tmp_path / name).read_bytes()
        assert content.startswith(PNG_MAGIC), name
    results = read_results(tmp_path)
    assert results["dataset"] == "digits"
    assert results["n_train"] == 300
    assert results["n_test"] == 450  # 25% of the 1797 digits
    assert results["image_shape"] == [8, 8]
    for key in ("accuracy_before_fine_tuning", "accuracy_after_fine_tuning"):
        assert 0.0 <= results[key] <= 1.0
    assert results["accuracy"] == results["accuracy_after_fine_tuning"]
    params = results["parameters"]
    assert params["hidden_layer_sizes"] == [16, 8]
    assert params["pretrain_max_iter"] == 3
    assert params["fine_tune_max_iter"] == 3
    assert params["fine_tune"] is True
    assert params["random_state"] == 0
    assert results["n_iter"] == 3
    assert results["converged"] is False
    assert results["fit_seconds"] >= 0 and results["load_seconds"] >= 0
    assert results["version"] == __version__
    assert sorted(results["files"]) == sorted([*FIGURES, "results.json"])


def test_parameters_are_passed_to_the_classifier(tmp_path, capsys):
    code, _, err = run(
        capsys,
        *QUICK,
        "--sparsity-target",
        "0.05",
        "--sparsity-weight",
        "1.5",
        "--alpha",
        "0.001",
        "--pretrain-solver",
        "lbfgs",
        "--random-state",
        "3",
        "--threads",
        "1",
        "--no-plots",
        "--output-dir",
        tmp_path,
    )
    assert code == 0, err
    params = read_results(tmp_path)["parameters"]
    assert params["sparsity_target"] == 0.05
    assert params["sparsity_weight"] == 1.5
    assert params["alpha"] == 0.001
    assert params["pretrain_solver"] == "lbfgs"
    assert params["random_state"] == 3


def test_no_fine_tune(tmp_path, capsys):
    code, out, err = run(capsys, *QUICK, "--no-fine-tune", "--output-dir", tmp_path)
    assert code == 0, err
    results = read_results(tmp_path)
    assert results["accuracy_after_fine_tuning"] is None
    assert results["accuracy"] == results["accuracy_before_fine_tuning"]
    assert 0.0 <= results["accuracy"] <= 1.0
    assert results["parameters"]["fine_tune"] is False
    assert results["n_iter"] == 0
    assert "Fine-tuning the whole network" not in out
    assert "Test accuracy after fine-tuning" not in out


def test_no_plots_writes_only_results(tmp_path, capsys):
    out_dir = tmp_path / "nested" / "out"  # created if needed
    code, _, err = run(capsys, *QUICK, "--no-plots", "--output-dir", out_dir)
    assert code == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == ["results.json"]
    assert read_results(out_dir)["files"] == ["results.json"]


def test_single_hidden_layer_has_no_second_layer_figure(tmp_path, capsys):
    code, out, err = run(
        capsys,
        "--n-train",
        "300",
        "--hidden",
        "16",
        "--pretrain-max-iter",
        "3",
        "--max-iter",
        "3",
        "--quiet",
        "--output-dir",
        tmp_path,
    )
    assert code == 0, err
    assert not (tmp_path / "filters_layer2.png").exists()
    assert (tmp_path / "filters_layer1.png").exists()
    # --quiet: the results, not the progress
    assert "Iteration" not in out
    assert "Test accuracy before fine-tuning" in out


def test_missing_matplotlib_skips_figures(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    code, out, err = run(capsys, *QUICK, "--output-dir", tmp_path)
    assert code == 0, err
    assert out.count("matplotlib is not installed") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_mnist_from_idx_files(tmp_path, capsys, mnist_dir):
    out_dir = tmp_path / "out"
    code, out, err = run(
        capsys,
        "--dataset",
        "mnist",
        "--mnist-dir",
        mnist_dir,
        "--hidden",
        "9",
        "4",
        "--pretrain-max-iter",
        "2",
        "--max-iter",
        "2",
        "--output-dir",
        out_dir,
    )
    assert code == 0, err
    assert "Pretraining layer 1: 784 -> 9" in out
    results = read_results(out_dir)
    assert results["dataset"] == "mnist"
    assert (results["n_train"], results["n_test"]) == (60, 20)
    assert results["image_shape"] == [28, 28]
    assert 0.0 <= results["accuracy"] <= 1.0
    for name in FIGURES:
        assert (out_dir / name).read_bytes().startswith(PNG_MAGIC)


def test_mnist_dir_implies_mnist_and_n_train(tmp_path, capsys, mnist_dir):
    code, _, err = run(
        capsys,
        "--mnist-dir",
        mnist_dir,
        "--n-train",
        "30",
        "--hidden",
        "4",
        "--pretrain-max-iter",
        "1",
        "--max-iter",
        "1",
        "--no-plots",
        "--output-dir",
        tmp_path,
    )
    assert code == 0, err
    results = read_results(tmp_path)
    assert results["dataset"] == "mnist"
    assert results["n_train"] == 30


def test_default_output_dir(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, *QUICK, "--no-plots")
    assert code == 0, err
    assert (tmp_path / "results" / "digits" / "results.json").is_file()


def _truncate_train_images(folder):
    """Replace the training images by a raw IDX file cut short."""
    (folder / "train-images-idx3-ubyte.gz").unlink()
    path = folder / "train-images-idx3-ubyte"
    write_idx(path, np.zeros((60, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:1000])


@pytest.mark.parametrize(
    "case, args, expected_code",
    [
        ("missing dir", ["--mnist-dir", "{tmp}/nonexistent"], 1),
        ("truncated idx", ["--mnist-dir", "{mnist}"], 1),
        ("hidden 0", ["--hidden", "0"], 2),
        ("hidden not int", ["--hidden", "ten"], 2),
        ("sparsity target", ["--sparsity-target", "2"], 2),
        ("negative alpha", ["--alpha", "-1"], 2),
        ("unknown option", ["--frobnicate"], 2),
        ("digits with mnist dir", ["--dataset", "digits", "--mnist-dir", "x"], 2),
    ],
)
def test_errors_are_one_line(tmp_path, capsys, mnist_dir, case, args, expected_code):
    if case == "truncated idx":
        _truncate_train_images(mnist_dir)
    args = [a.format(tmp=tmp_path, mnist=mnist_dir) for a in args]
    code, out, err = run(capsys, *args, "--output-dir", tmp_path / "out")
    assert code == expected_code
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("skl-sparse-ae: error:")
    assert "Traceback" not in out + err
    if case == "truncated idx":
        assert "train-images-idx3-ubyte" in err
    if case == "missing dir":
        assert "nonexistent" in err


def test_estimator_errors_are_one_line(tmp_path, capsys):
    # Parameter values the command line accepts but the fit rejects: one
    # class only in the (tiny) training set.
    code, out, err = run(
        capsys,
        "--n-train",
        "1",
        "--hidden",
        "2",
        "--no-plots",
        "--output-dir",
        tmp_path,
    )
    assert code == 1
    assert err.startswith("skl-sparse-ae: error:")
    assert len(err.splitlines()) == 1
    assert "Traceback" not in out + err


def test_keyboard_interrupt(tmp_path, capsys, monkeypatch):
    from skl_sparse_ae import StackedSparseAEClassifier

    def interrupted_fit(self, X, y):
        raise KeyboardInterrupt

    monkeypatch.setattr(StackedSparseAEClassifier, "fit", interrupted_fit)
    code, _, err = run(capsys, *QUICK, "--output-dir", tmp_path)
    assert code == 130
    assert "interrupted" in err


def test_interrupt_caught_by_the_solver_stops_the_run(tmp_path, capsys, monkeypatch):
    # The minibatch solvers catch Ctrl-C, warn and go on with the next stage;
    # the command line turns that warning back into an interrupt.
    from skl_sparse_ae import StackedSparseAEClassifier

    def interrupted_fit(self, X, y):
        warnings.warn("Training interrupted by user.", stacklevel=2)
        raise AssertionError("the warning should have stopped the fit")

    monkeypatch.setattr(StackedSparseAEClassifier, "fit", interrupted_fit)
    code, _, err = run(capsys, *QUICK, "--output-dir", tmp_path)
    assert code == 130
    assert "interrupted" in err


def test_help_and_version(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for option in (
        "--dataset",
        "--mnist-dir",
        "--hidden",
        "--sparsity-target",
        "--sparsity-weight",
        "--alpha",
        "--no-fine-tune",
        "--max-iter",
        "--pretrain-max-iter",
        "--random-state",
        "--n-train",
        "--output-dir",
        "--quiet",
        "--no-plots",
    ):
        assert option in out
    assert "default: 200 200" in " ".join(out.split())  # however it wraps
    assert "examples:" in out and "--mnist-dir" in out.split("examples:")[1]
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert __version__ in out


def test_python_m_help():
    result = subprocess.run(
        [sys.executable, "-m", "skl_sparse_ae", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: skl-sparse-ae")


@pytest.mark.parametrize(
    "args, solver, max_iter",
    [
        ([], "lbfgs", 400),  # digits: UFLDL's L-BFGS pretraining
        (["--dataset", "mnist"], "adam", 20),  # the classifier's defaults
        (["--pretrain-solver", "adam"], "adam", 20),
        (["--pretrain-max-iter", "7"], "adam", 7),
    ],
)
def test_pretraining_defaults_per_dataset(args, solver, max_iter):
    from skl_sparse_ae._cli import _make_classifier, _parse_args

    clf = _make_classifier(_parse_args(args))
    assert (clf.pretrain_solver, clf.pretrain_max_iter) == (solver, max_iter)


@pytest.mark.parametrize(
    "args, threads",
    [([], 1), (["--dataset", "mnist"], None), (["--threads", "2"], 2)],
)
def test_blas_threads_default_per_dataset(args, threads):
    from skl_sparse_ae._cli import _parse_args

    assert _parse_args(args).threads == threads
