"""Tests of the command line interface (skl-sparse-ae / python -m skl_sparse_ae)."""

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.fixes import parse_version

from skl_sparse_ae import __version__
from skl_sparse_ae.cli import main
from skl_sparse_ae.cli.arguments import build_parser, make_classifier, parse_args
from skl_sparse_ae.datasets import write_idx

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FIGURES = [
    "samples.png",
    "filters_layer1.png",
    "filters_layer2.png",
    "loss_curves.png",
    "reconstructions.png",
]
STAGES = ["pretraining layer 1", "pretraining layer 2", "softmax", "fine-tuning"]
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

    # progress on stderr: not a terminal, so one summary line per stage
    assert "Loaded digits" in err
    assert "pretraining layer 1 (64 -> 16, adam): 3 epochs, loss " in err
    assert "pretraining layer 2 (16 -> 8, adam): 3 epochs, loss " in err
    assert "softmax (8 -> 10, lbfgs): " in err
    assert "fine-tuning (64-16-8-10, adam): 3 epochs, loss " in err
    assert "Iteration" not in out + err
    assert "\r" not in err  # no progress bar
    # the report on stdout
    assert "Test accuracy before fine-tuning" in out
    assert "Test accuracy after fine-tuning" in out
    assert "BLAS: " in out
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
    assert [stage["stage"] for stage in results["stages"]] == STAGES
    assert [stage["stop"] for stage in results["stages"]][:2] == ["max_iter"] * 2
    assert results["stages"][0]["n_iter"] == results["pretrain_n_iter"][0] == 3
    assert results["blas"] and results["blas"][0]["num_threads"] == 1
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
    assert "fine-tuning" not in err
    assert "fine-tuning " not in out.split("Test accuracy")[0]  # no table row
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
    assert err == ""
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
    assert "pretraining layer 1 (784 -> 9, adam)" in err
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
    # the error is one line, the last of stderr (after the progress, if any)
    lines = err.splitlines()
    assert lines[-1].startswith("skl-sparse-ae: error:"), err
    assert sum(line.startswith("skl-sparse-ae:") for line in lines) == 1, err
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
    lines = err.splitlines()
    assert lines[-1].startswith("skl-sparse-ae: error:"), err
    assert sum(line.startswith("skl-sparse-ae:") for line in lines) == 1, err
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
        ([], "lbfgs", 2000),  # digits: UFLDL's L-BFGS, to convergence
        (["--dataset", "mnist"], "adam", 10),  # --config default
        (["--pretrain-solver", "adam"], "adam", 10),
        (["--pretrain-max-iter", "7"], "adam", 7),
    ],
)
def test_pretraining_defaults_per_dataset(args, solver, max_iter):
    clf = make_classifier(parse_args(args))
    assert (clf.pretrain_solver, clf.pretrain_max_iter) == (solver, max_iter)


@pytest.mark.parametrize(
    "args, threads",
    [([], 1), (["--dataset", "mnist"], None), (["--threads", "2"], 2)],
)
def test_blas_threads_default_per_dataset(args, threads):
    assert parse_args(args).threads == threads


# -- progress and report ---------------------------------------------------


def report_lines(out):
    """The table's rows of the report on stdout, by stage name."""
    return {
        stage: line
        for line in out.splitlines()
        for stage in STAGES
        if line.startswith(stage + " ")
    }


def test_stdout_holds_only_the_report(tmp_path, capsys):
    code, out, err = run(capsys, *QUICK, "--no-plots", "--output-dir", tmp_path)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == [
        "stage",
        "size",
        "solver",
        "iterations",
        "final",
        "loss",
        "time",
        "stop",
    ]
    rows = report_lines(out)
    assert list(rows) == STAGES
    assert rows["pretraining layer 1"].split()[5:8] == ["16", "adam", "3/3"]
    assert rows["softmax"].split()[2:5] == ["->", "10", "lbfgs"]
    # nothing of the progress is on stdout, nothing of the report on stderr
    assert "Loaded" not in out and "Loading" not in out
    assert "Test accuracy" not in err and "BLAS" not in err
    assert len(lines) <= 14


def test_terminal_with_tqdm_draws_one_bar_per_stage(tmp_path, capsys, monkeypatch):
    pytest.importorskip("tqdm")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, out, err = run(capsys, *QUICK, "--no-plots", "--output-dir", tmp_path)
    assert code == 0, err
    for stage in STAGES:
        # each bar is drawn again in place (\r) and ends full
        final = [part for part in err.split("\r") if part.startswith(stage + ":")]
        assert final, stage
        assert " 100%|" in final[-1]
        assert "loss=" in final[-1]
    assert "3/3 [" in err  # the bar counts the epochs of its stage
    assert "adam): 3 epochs" not in err  # no summary lines beside the bars
    assert "Iteration" not in out + err
    assert list(report_lines(out)) == STAGES


def test_terminal_without_tqdm_prints_lines(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import fails
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, out, err = run(capsys, *QUICK, "--no-plots", "--output-dir", tmp_path)
    assert code == 0, err
    assert err.count("pip install tqdm") == 1
    assert "\r" not in err
    for stage in STAGES:
        assert sum(line.startswith(stage + " (") for line in err.splitlines()) == 1
    assert list(report_lines(out)) == STAGES


def test_no_terminal_with_tqdm_prints_lines(tmp_path, capsys, monkeypatch):
    pytest.importorskip("tqdm")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    code, _, err = run(capsys, *QUICK, "--no-plots", "--output-dir", tmp_path)
    assert code == 0, err
    assert "\r" not in err and "%|" not in err
    assert "pip install tqdm" not in err  # no hint when nobody watches
    assert [line.split(" (")[0] for line in err.splitlines()[-5:-1]] == STAGES


@pytest.mark.parametrize("terminal", [False, True])
def test_quiet_prints_only_the_results(tmp_path, capsys, monkeypatch, terminal):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)
    code, out, err = run(
        capsys, *QUICK, "--quiet", "--no-plots", "--output-dir", tmp_path
    )
    assert code == 0, err
    assert err == ""
    assert list(report_lines(out)) == STAGES
    assert "Test accuracy after fine-tuning" in out


@pytest.mark.parametrize("terminal", [False, True])
def test_verbose_prints_every_iteration_to_stderr(
    tmp_path, capsys, monkeypatch, terminal
):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)
    code, out, err = run(
        capsys, *QUICK, "--verbose", "--no-plots", "--output-dir", tmp_path
    )
    assert code == 0, err
    # the estimators' lines: 3 + 3 epochs of pretraining, the softmax's
    # iterations, 3 epochs of fine-tuning; all on stderr
    assert err.count("Iteration 1, loss = ") == 4
    assert "Pretraining layer 1: 64 -> 16" in err
    assert "Fine-tuning the whole network" in err
    assert "%|" not in err  # no bars
    assert "Iteration" not in out
    assert list(report_lines(out)) == STAGES


def test_quiet_and_verbose_exclude_each_other(tmp_path, capsys):
    code, _, err = run(capsys, "--quiet", "--verbose", "--output-dir", tmp_path)
    assert code == 2
    assert "not allowed with" in err


def test_failed_fit_closes_the_bar(tmp_path, capsys, monkeypatch):
    pytest.importorskip("tqdm")
    from skl_sparse_ae.cli.progress import Progress

    closed = []
    original = Progress.close

    def close(self):
        closed.append(self._bar is not None)
        original(self)

    def fail_in_softmax(*args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr(Progress, "close", close)
    monkeypatch.setattr(
        "skl_sparse_ae._stacked.StackedSparseAEClassifier._fit_softmax",
        fail_in_softmax,
    )
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, _, err = run(capsys, *QUICK, "--no-plots", "--output-dir", tmp_path)
    assert code == 1
    assert err.splitlines()[-1] == "skl-sparse-ae: error: boom"
    assert closed[-1] is False  # closed already (the layers' bars ended)


def test_report_table_marks_a_stage_that_did_not_converge(tmp_path, capsys):
    code, out, err = run(
        capsys,
        *QUICK,
        "--pretrain-solver",
        "lbfgs",
        "--no-plots",
        "--output-dir",
        tmp_path,
    )
    assert code == 0, err
    rows = report_lines(out)
    assert rows["pretraining layer 1"].endswith("max_iter")
    assert rows["softmax"].endswith("converged")
    assert rows["fine-tuning"].endswith("max_iter")  # 3 epochs, no stopping rule
    assert "3/3 epochs" in rows["fine-tuning"]


@pytest.mark.slow
@pytest.mark.skipif(
    parse_version(scipy.__version__) < parse_version("1.15"),
    # seen with scipy 1.9.2 (make test-min): the old Fortran L-BFGS-B ends an
    # autoencoder's or the softmax's run with ABNORMAL_TERMINATION_IN_LNSRCH
    # near the minimum of the float32 objective, depending on the rounding of
    # the thread count; the command still runs and reports it. scipy 1.17
    # converges in every configuration tried.
    reason="scipy < 1.15's L-BFGS-B may stop in its line search at float32 precision",
)
def test_default_digits_run_converges_without_warnings(tmp_path, capsys):
    # The command's defaults on the digits must not end in a
    # ConvergenceWarning: L-BFGS pretraining to convergence and fine-tuning
    # stopped by early stopping (see cli.arguments.DATASET_PARAMS).
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code, out, err = run(capsys, "--no-plots", "--output-dir", tmp_path)
    assert code == 0, err
    results = read_results(tmp_path)
    assert results["converged"] is True
    assert [stage["stop"] for stage in results["stages"]] == [
        "converged",
        "converged",
        "converged",
        "early stopping",
    ]
    assert "note:" not in out
    # the default's digits accuracy must not drop: 98.2 % before and after
    # fine-tuning when written, so at most two more of the 450 test images
    # misclassified (the count moves by one with the threads' rounding)
    assert results["accuracy_before_fine_tuning"] >= 0.977
    assert results["accuracy_after_fine_tuning"] >= 0.977


# -- the hook the command follows the solvers with ----------------------------


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_observe_progress_reports_each_iteration(solver):
    from skl_sparse_ae import SparseAE
    from skl_sparse_ae._callbacks import ProgressEvents

    X = np.random.RandomState(0).uniform(size=(60, 9))
    events = []
    callback = ProgressEvents(lambda event, **info: events.append((event, info)))
    ae = SparseAE(n_components=4, solver=solver, max_iter=5, random_state=0)
    ae.set_callbacks(callback)
    with pytest.warns(ConvergenceWarning):  # 5 iterations do not converge
        ae.fit(X)
    ae.set_callbacks()  # removed
    assert events[0] == ("start", {"max_iter": 5})
    iterations = [info for event, info in events if event == "iteration"]
    assert [info["n_iter"] for info in iterations] == list(range(1, ae.n_iter_ + 1))
    assert [info["loss"] for info in iterations] == pytest.approx(ae.loss_curve_)
    assert events[-1][0] == "end"
    assert events[-1][1]["n_iter"] == ae.n_iter_
    assert events[-1][1]["loss"] == pytest.approx(ae.loss_curve_[-1], rel=1e-4)
    assert events[-1][1]["status"] == "max_iter"
    # without the callback, nothing is reported
    events.clear()
    with pytest.warns(ConvergenceWarning):
        ae.fit(X)
    assert events == []


def test_observe_progress_is_no_estimator_parameter():
    from skl_sparse_ae import SparseAE, StackedSparseAEClassifier

    for estimator in (SparseAE(), StackedSparseAEClassifier()):
        assert not any("progress" in name for name in estimator.get_params())
        assert not hasattr(estimator, "observe_progress")


@pytest.mark.parametrize("name", ["default", "seed", "ufldl", "best"])
def test_named_configurations(tmp_path, capsys, name):
    from skl_sparse_ae._configs import CONFIGS, config_params

    # QUICK's sizes and iterations override the configuration's: a fast run
    # that keeps the configuration's other parameters
    code, out, err = run(
        capsys, *QUICK, "--config", name, "--no-plots", "--output-dir", tmp_path
    )
    assert code == 0, err
    params = read_results(tmp_path)["parameters"]
    expected = config_params(name)
    for key in ("hidden_layer_sizes", "pretrain_max_iter", "fine_tune_max_iter"):
        expected.pop(key, None)
    assert {k: params[k] for k in expected} == expected
    assert params["hidden_layer_sizes"] == [16, 8]
    results = read_results(tmp_path)
    if name == "seed":  # the seed's experiment: no fine-tuning
        assert results["accuracy_after_fine_tuning"] is None
        assert "Test accuracy after fine-tuning" not in out
    else:
        assert results["accuracy_after_fine_tuning"] is not None
    help_text = " ".join(build_parser().format_help().split())
    assert f"{name}: {CONFIGS[name]['description']}" in help_text


def test_fine_tune_flag_overrides_the_configuration(tmp_path, capsys):
    code, out, err = run(
        capsys,
        *QUICK,
        "--config",
        "seed",
        "--fine-tune",
        "--no-plots",
        "--output-dir",
        tmp_path,
    )
    assert code == 0, err
    assert read_results(tmp_path)["parameters"]["fine_tune"] is True


def test_unknown_configuration_is_a_usage_error(capsys):
    code, out, err = run(capsys, "--config", "huge")
    assert code == 2
    assert "invalid choice: 'huge'" in err


def test_corruption_and_dropout_options(tmp_path, capsys):
    code, out, err = run(
        capsys,
        *QUICK,
        "--corruption-level",
        "0.3",
        "--dropout",
        "0.1",
        "--no-plots",
        "--output-dir",
        tmp_path,
    )
    assert code == 0, err
    params = read_results(tmp_path)["parameters"]
    assert params["corruption_level"] == 0.3
    assert params["fine_tune_dropout"] == 0.1
    code, out, err = run(capsys, *QUICK, "--dropout", "1")
    assert code == 2
    assert "--dropout: must lie in [0, 1), got 1" in err


# -- the stages' stop reasons, from the solvers' status ---------------------


def synthetic_progress(runs, stages=None):
    """A Progress fed ``runs``: (max_iter, n_iter, status) per solver run."""
    from skl_sparse_ae.cli.progress import Progress, Stage

    if stages is None:
        stages = [
            Stage("pretraining layer 1", "64 -> 16", "lbfgs", "pretrain_max_iter"),
            Stage("softmax", "16 -> 10", "lbfgs", "softmax_max_iter"),
            Stage("fine-tuning", "64-16-10", "adam", "fine_tune_max_iter"),
        ]
    progress = Progress(stages)
    for max_iter, n_iter, status in runs:
        progress.start(max_iter=max_iter)
        for k in range(1, n_iter + 1):
            progress.iteration(n_iter=k, loss=1.0 / k)
        progress.end(n_iter=n_iter, loss=1.0 / max(n_iter, 1), status=status)
    return progress


STOP_COLUMN = {
    "converged": "converged",
    "max_iter": "max_iter",
    "max_fun": "max_fun",
    "line_search": "line search",
    "no_improvement": "no improvement",
    "early_stopping": "early stopping",
    "interrupted": "interrupted",
    "partial_fit": "partial_fit",
}


def test_every_solver_status_has_a_stop_label():
    from skl_sparse_ae._solvers import STOP_REASONS
    from skl_sparse_ae.cli.report import STOP_LABELS

    assert set(STOP_LABELS) == set(STOP_REASONS) == set(STOP_COLUMN)


@pytest.mark.parametrize("status", sorted(STOP_COLUMN))
def test_report_stop_column_is_the_solver_status(status):
    from skl_sparse_ae.cli.report import format_report, stage_record

    # the softmax run (the second) ends with ``status``, the others converge
    progress = synthetic_progress(
        [(2000, 1087, "converged"), (200, 150, status), (50, 12, "early_stopping")]
    )
    rows = report_lines("\n".join(format_report(progress.ran, 0.9, 0.95, "BLAS: x")))
    assert rows["softmax"].endswith("  " + STOP_COLUMN[status])
    assert "150/200" in rows["softmax"]
    # the stop does not follow from the counts: 1087 < 2000 and converged
    assert rows["pretraining layer 1"].endswith("  converged")
    assert rows["fine-tuning"].endswith("  early stopping")
    assert "12/50 epochs" in rows["fine-tuning"]
    record = stage_record(progress.ran[1])
    assert (record["stop"], record["status"]) == (STOP_COLUMN[status], status)


@pytest.mark.parametrize(
    "status, expected",
    [
        ("converged", None),
        ("no_improvement", None),
        ("early_stopping", None),
        ("partial_fit", None),
        (
            "max_iter",
            "note: the solver stopped at max_iter before converging in softmax "
            "(increase --softmax-max-iter)",
        ),
        ("max_fun", "(max_fun) before converging in softmax"),
        ("line_search", "note: the line search of L-BFGS stopped softmax: "),
        ("interrupted", "note: Ctrl-C interrupted softmax"),
    ],
)
def test_closing_note_for_each_status(status, expected):
    from skl_sparse_ae.cli.report import closing_notes, converged

    progress = synthetic_progress(
        [(2000, 1087, "converged"), (200, 150, status), (50, 12, "early_stopping")]
    )
    notes = closing_notes(progress.ran)
    if expected is None:
        assert notes == []
        assert converged(progress.ran)
        return
    assert len(notes) == 1
    assert expected in notes[0]
    assert not converged(progress.ran)
    # only the stage whose status says so is named
    assert "pretraining" not in notes[0] and "fine-tuning" not in notes[0]
    if status == "line_search":
        assert "float32" in notes[0] and "--" not in notes[0]


def test_closing_note_names_the_option_of_each_stage_at_max_iter():
    from skl_sparse_ae.cli.report import closing_notes

    progress = synthetic_progress(
        [(3, 3, "max_iter"), (200, 12, "converged"), (3, 3, "max_iter")]
    )
    assert closing_notes(progress.ran) == [
        "note: the solver stopped at max_iter before converging in pretraining "
        "layer 1 and fine-tuning (increase --pretrain-max-iter or --max-iter)"
    ]
    progress = synthetic_progress(
        [(2000, 1087, "line_search"), (200, 12, "converged"), (3, 3, "max_iter")]
    )
    notes = closing_notes(progress.ran)
    assert len(notes) == 2
    assert notes[0].endswith("in fine-tuning (increase --max-iter)")
    assert "stopped pretraining layer 1:" in notes[1]


@pytest.mark.parametrize(
    "before, after, lowered",
    [(0.9889, 0.9844, True), (0.9844, 0.9844, False), (0.95, 0.98, False)],
)
def test_report_says_when_fine_tuning_lowered_the_accuracy(before, after, lowered):
    from skl_sparse_ae.cli.report import format_report

    progress = synthetic_progress([(3, 3, "max_iter")])
    lines = format_report(progress.ran, before, after, "BLAS: x")
    (line,) = [line for line in lines if line.startswith("Test accuracy after")]
    assert ("fine-tuning lowered the test accuracy" in line) is lowered
    if lowered:
        assert line.endswith(f"{after:.4f} (fine-tuning lowered the test accuracy)")
    # without fine-tuning, there is nothing to compare
    lines = format_report(progress.ran, before, None, "BLAS: x")
    assert "lowered" not in "\n".join(lines)


def test_runs_beyond_the_foreseen_stages_are_extra_runs():
    from skl_sparse_ae.cli.progress import Progress, Stage
    from skl_sparse_ae.cli.report import format_report

    progress = Progress([Stage("softmax", "8 -> 10", "lbfgs", "softmax_max_iter")])
    progress.iteration(n_iter=1, loss=1.0)  # before any run: ignored
    progress.end(n_iter=1, loss=1.0, status="converged")
    assert progress.ran == []
    progress = synthetic_progress(
        [(5, 2, "converged"), (5, 5, "max_iter"), (7, 3, "line_search")],
        stages=progress.stages,
    )
    assert [stage.name for stage in progress.ran] == [
        "softmax",
        "extra run 1",
        "extra run 2",
    ]
    assert [stage.status for stage in progress.ran] == [
        "converged",
        "max_iter",
        "line_search",
    ]
    assert progress.ran[2].loss_curve == pytest.approx([1.0, 0.5, 1 / 3])
    lines = format_report(progress.ran, 0.5, None, "BLAS: x")
    assert any(line.startswith("extra run 2 ") for line in lines)


def test_foreseen_stages_follow_the_classifier():
    from skl_sparse_ae import StackedSparseAEClassifier
    from skl_sparse_ae.cli.progress import foresee_stages

    clf = StackedSparseAEClassifier((16, 8), pretrain_solver="lbfgs")
    stages = foresee_stages(clf, 64, 10)
    assert [s.name for s in stages] == STAGES
    assert [s.size for s in stages] == ["64 -> 16", "16 -> 8", "8 -> 10", "64-16-8-10"]
    assert [s.unit for s in stages] == ["iterations"] * 3 + ["epochs"]
    clf.set_params(fine_tune=False)
    assert [s.name for s in foresee_stages(clf, 64, 10)] == STAGES[:3]


def test_interrupted_status_stops_the_command():
    from skl_sparse_ae.cli.progress import Progress, Stage, follow

    progress = Progress([Stage("fine-tuning", "", "adam")])
    with pytest.raises(KeyboardInterrupt):
        with follow(progress):
            progress.start(max_iter=5)
            progress.end(n_iter=2, loss=1.0, status="interrupted")
            finished = True  # the fit returns: the stop comes after it
    assert finished


def test_interrupt_warning_inside_a_run_waits_for_its_status():
    from skl_sparse_ae._solvers import INTERRUPT_MESSAGE
    from skl_sparse_ae.cli.progress import Progress, Stage, follow

    # a solver that warns, then reports its status: the status decides
    progress = Progress([Stage("a", "", "adam"), Stage("b", "", "adam")])
    with follow(progress):
        progress.start(max_iter=5)
        warnings.warn(INTERRUPT_MESSAGE, stacklevel=1)
        progress.end(n_iter=2, loss=1.0, status="max_iter")
    assert progress.ran[0].status == "max_iter"
    # a solver that warns but reports no status: the warning says it
    with pytest.raises(KeyboardInterrupt):
        with follow(progress):
            progress.start(max_iter=5)
            warnings.warn(INTERRUPT_MESSAGE, stacklevel=1)
            progress.end(n_iter=2, loss=1.0)
    assert progress.ran[1].status == "interrupted"


def test_convergence_warnings_are_not_shown_inside_follow():
    from skl_sparse_ae.cli.progress import Progress, follow

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with follow(Progress([])):
            warnings.warn("stopped early", ConvergenceWarning, stacklevel=1)
        with pytest.raises(UserWarning, match="other"):
            with follow(Progress([])):
                warnings.warn("other", UserWarning, stacklevel=1)


def test_a_real_fit_reports_max_iter_and_converged():
    from sklearn.datasets import load_digits

    from skl_sparse_ae import StackedSparseAEClassifier
    from skl_sparse_ae.cli.progress import Progress, follow, foresee_stages

    X, y = load_digits(return_X_y=True)
    X, y = (X[:200] / 16.0).astype(np.float32), y[:200]
    clf = StackedSparseAEClassifier(
        (8,), pretrain_max_iter=1, fine_tune=False, random_state=0
    )
    progress = Progress(foresee_stages(clf, 64, 10))
    with follow(progress, clf):
        clf.fit(X, y)
    assert [stage.name for stage in progress.ran] == ["pretraining layer 1", "softmax"]
    assert [stage.status for stage in progress.ran] == ["max_iter", "converged"]
    assert progress.ran[0].n_iter == 1


def test_a_real_lbfgs_run_reports_max_fun():
    from sklearn.datasets import load_digits

    from skl_sparse_ae import SparseAutoencoderTransformer
    from skl_sparse_ae.cli.progress import Progress, Stage, follow
    from skl_sparse_ae.cli.report import closing_notes

    X = (load_digits().data[:200] / 16.0).astype(np.float32)
    ae = SparseAutoencoderTransformer(
        n_components=8, solver="lbfgs", max_iter=100, max_fun=5, random_state=0
    )
    progress = Progress([Stage("autoencoder", "64 -> 8", "lbfgs")])
    with follow(progress, ae):
        ae.fit(X)
    (stage,) = progress.ran
    assert stage.status == "max_fun"
    assert stage.n_iter < stage.max_iter == 100
    assert "max_fun" in closing_notes(progress.ran)[0]


def test_interrupt_in_fine_tuning_exits_by_its_status(tmp_path, capsys, monkeypatch):
    # Ctrl-C during fine-tuning: the solver stops, warns and ends its run with
    # the status "interrupted"; the command stops with exit code 130.
    from skl_sparse_ae._solvers import MinibatchSolver

    def interrupt(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(MinibatchSolver, "_update_no_improvement", interrupt)
    code, out, err = run(
        capsys, *QUICK, "--pretrain-solver", "lbfgs", "--output-dir", tmp_path
    )
    assert code == 130
    assert "interrupted" in err
    assert "fine-tuning (64-16-8-10, adam): 1 epochs" in err  # it ended, then stop
    assert not (tmp_path / "results.json").exists()
    assert out == ""


def test_options_take_bounds_and_defaults_from_the_classifier():
    from skl_sparse_ae import StackedSparseAEClassifier
    from skl_sparse_ae._configs import config_params
    from skl_sparse_ae.cli.arguments import OPTIONS, UsageError

    constraints = StackedSparseAEClassifier._parameter_constraints
    assert set(OPTIONS) <= set(constraints)
    # no option given: every parameter is the classifier's under --config default
    args = parse_args(["--dataset", "mnist"])
    assert all(getattr(args, param) is None for param in OPTIONS)
    expected = {**StackedSparseAEClassifier().get_params(), **config_params("default")}
    params = make_classifier(args).get_params()
    assert {p: params[p] for p in OPTIONS} == {p: expected[p] for p in OPTIONS}
    help_text = " ".join(build_parser().format_help().split())
    assert f"(default: {expected['sparsity_weight']})" in help_text
    assert "in (0, 1) (default: 0.1)" in help_text  # rho's open interval
    # the bounds are the constraints': open at 0 for rho, closed for alpha
    for argv, ok in [
        (["--sparsity-target", "0"], False),
        (["--sparsity-target", "1e-9"], True),
        (["--alpha", "0"], True),
        (["--alpha", "nan"], False),
        (["--softmax-max-iter", "0"], False),
        (["--softmax-max-iter", "5"], True),
    ]:
        if ok:
            parse_args(argv)
        else:
            with pytest.raises(UsageError, match="must lie in"):
                parse_args(argv)
    assert (
        make_classifier(parse_args(["--softmax-max-iter", "5"])).softmax_max_iter == 5
    )
