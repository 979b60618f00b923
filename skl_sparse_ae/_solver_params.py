"""The solver parameters, declared once: defaults, constraints, documentation.

Each estimator takes the solver parameters of MLPClassifier (``solver``,
``batch_size``, ``learning_rate_init``, ...). They are declared here, once
each (:data:`SOLVER_PARAMETERS`), and

- :func:`solver_parameters` puts them on an estimator class: its
  ``_parameter_constraints``, its ``__init__`` signature (after the model's
  own parameters, which its ``__init__`` writes out) and the "Parameters"
  section of its docstring (in place of ``{solver_parameters}``);
- :func:`make_solver` turns an estimator's parameters into a solver object
  (:mod:`skl_sparse_ae._solvers`), reading ``prefix + name`` first, so that
  the stacked classifier's stages (``pretrain_``, ``softmax_``,
  ``fine_tune_``) use the same code as the transformers.

This is the only module that tests a ``solver`` string.
"""

import inspect
from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from ._solvers import AdamOptimizer, LBFGSSolver, MinibatchDescent, SGDOptimizer

__all__ = [
    "MINIBATCH_SOLVERS",
    "SOLVERS",
    "SOLVER_PARAMETERS",
    "make_solver",
    "partial_fit_available",
    "solver_parameter_constraints",
    "solver_parameters",
    "stage_parameters",
]


class SolverParameter:
    """One solver parameter: its default, its constraints and its docstring entry.

    Parameters
    ----------
    default : object
        The default value.
    constraints : list
        ``_parameter_constraints`` entry.
    kind : str
        The type line of its numpydoc entry, before ``, default=...``.
    doc : str
        Its description (numpydoc, unindented).
    """

    def __init__(self, default, constraints, kind, doc):
        self.default = default
        self.constraints = constraints
        self.kind = kind
        self.doc = doc

    def docstring(self, name, default):
        """Its numpydoc entry, indented as in a class docstring."""
        lines = [f"    {name} : {self.kind}, default={default!r}"]
        lines += [f"        {line}" if line else "" for line in self.doc.splitlines()]
        return "\n".join(lines)


#: What each solver is, for the docstring of ``solver``.
_SOLVER_DOCS = {
    "lbfgs": (
        '``"lbfgs"`` minimises the full-batch objective with L-BFGS-B, as the\n'
        "UFLDL tutorial does with minFunc (best for small and medium data);"
    ),
    "adam": '``"adam"`` (Kingma and Ba, 2014) and',
    "sgd": (
        '``"sgd"`` (with momentum) are minibatch methods (large data,\n'
        "``partial_fit``)."
    ),
}


def _minibatch(optimizer, optimizer_names):
    """A factory of :class:`MinibatchDescent` with this optimiser."""

    def build(get):
        return MinibatchDescent(
            optimizer,
            {name: get(name) for name in ("learning_rate_init", *optimizer_names)},
            **{name: get(name) for name in _MINIBATCH_SETTINGS},
        )

    return build


_MINIBATCH_SETTINGS = (
    "batch_size",
    "max_iter",
    "shuffle",
    "tol",
    "n_iter_no_change",
    "early_stopping",
    "validation_fraction",
    "learning_rate",
    "learning_rate_final_ratio",
    "verbose",
)

#: The solvers by name: each builds its solver object from ``get(name)``, the
#: value of a solver parameter.
SOLVERS = {
    "lbfgs": lambda get: LBFGSSolver(
        **{name: get(name) for name in ("max_iter", "max_fun", "tol", "verbose")}
    ),
    "adam": _minibatch(AdamOptimizer, ("beta_1", "beta_2", "epsilon")),
    "sgd": _minibatch(SGDOptimizer, ("momentum", "nesterovs_momentum")),
}

#: The solvers that work in minibatches (and so support ``partial_fit``).
MINIBATCH_SOLVERS = ("adam", "sgd")

#: Every solver parameter, in the order the estimators take them.
SOLVER_PARAMETERS = {
    "solver": SolverParameter(
        "lbfgs",
        [StrOptions(set(SOLVERS))],
        None,  # its docstring entry lists the estimator's own choices
        None,
    ),
    "batch_size": SolverParameter(
        "auto",
        [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        'int or "auto"',
        'Minibatch size for adam and sgd; "auto" means ``min(256, n_samples)``.\n'
        "Every mean over the samples of the objective is taken over each\n"
        "minibatch.",
    ),
    "learning_rate_init": SolverParameter(
        1e-3,
        [Interval(Real, 0, None, closed="neither")],
        "float",
        "Step size of adam and sgd.",
    ),
    "learning_rate": SolverParameter(
        "constant",
        [StrOptions({"constant", "linear", "cosine"})],
        '{"constant", "linear", "cosine"}',
        "Learning-rate schedule of adam and sgd over ``max_iter`` epochs:\n"
        '``"constant"`` keeps ``learning_rate_init`` (MLPClassifier\'s\n'
        '``"constant"``); ``"linear"`` and ``"cosine"`` decay it epoch by\n'
        "epoch, from ``learning_rate_init`` in the first epoch to\n"
        "``learning_rate_init * learning_rate_final_ratio`` in epoch\n"
        "``max_iter``, so that no second stage at a lower rate is needed.\n"
        "With ``partial_fit``, each call is one epoch of the decay.",
    ),
    "learning_rate_final_ratio": SolverParameter(
        0.01,
        [Interval(Real, 0, 1, closed="both")],
        "float",
        'Final step size of the ``"linear"`` and ``"cosine"`` schedules, as a\n'
        "fraction of ``learning_rate_init``, in [0, 1].",
    ),
    "max_iter": SolverParameter(
        200,
        [Interval(Integral, 1, None, closed="left")],
        "int",
        "Iterations of lbfgs, or epochs of adam and sgd, at most.",
    ),
    "max_fun": SolverParameter(
        15000,
        [Interval(Integral, 1, None, closed="left")],
        "int",
        "Maximum number of objective evaluations of lbfgs.",
    ),
    "tol": SolverParameter(
        1e-4,
        [Interval(Real, 0, None, closed="left")],
        "float",
        "Tolerance: lbfgs stops when the largest gradient entry falls below it;\n"
        "adam and sgd stop when the loss (or the validation score, with\n"
        "``early_stopping``) improves by less than ``tol`` for\n"
        "``n_iter_no_change`` consecutive epochs.",
    ),
    "n_iter_no_change": SolverParameter(
        10,
        [Interval(Integral, 1, None, closed="left")],
        "int",
        "Epochs without improvement before adam or sgd stop.",
    ),
    "early_stopping": SolverParameter(
        False,
        ["boolean"],
        "bool",
        "Hold out ``validation_fraction`` of the data, stop on its score (see\n"
        ":meth:`score`) and keep the best weights (adam and sgd).",
    ),
    "validation_fraction": SolverParameter(
        0.1,
        [Interval(Real, 0, 1, closed="neither")],
        "float",
        "Share of the training data held out with ``early_stopping``.",
    ),
    "shuffle": SolverParameter(
        True,
        ["boolean"],
        "bool",
        "Shuffle the samples at each epoch (adam and sgd).",
    ),
    "momentum": SolverParameter(
        0.9, [Interval(Real, 0, 1, closed="both")], "float", "Momentum of sgd."
    ),
    "nesterovs_momentum": SolverParameter(
        True, ["boolean"], "bool", "Use Nesterov's momentum with sgd."
    ),
    "beta_1": SolverParameter(
        0.9,
        [Interval(Real, 0, 1, closed="left")],
        "float",
        "Decay of adam's first moment estimate.",
    ),
    "beta_2": SolverParameter(
        0.999,
        [Interval(Real, 0, 1, closed="left")],
        "float",
        "Decay of adam's second moment estimate.",
    ),
    "epsilon": SolverParameter(
        1e-8,
        [Interval(Real, 0, None, closed="neither")],
        "float",
        "Adam's numerical stability constant.",
    ),
    "random_state": SolverParameter(
        None,
        ["random_state"],
        "int, RandomState instance or None",
        "Seeds the weight initialisation, the shuffles and the validation\n"
        "split. Pass an int for reproducible results.",
    ),
    "verbose": SolverParameter(
        0,
        ["verbose"],
        "int",
        "Print one line per iteration or epoch (loss, elapsed seconds).",
    ),
    "warm_start": SolverParameter(
        False,
        ["boolean"],
        "bool",
        "Start ``fit`` from the previous solution (and, for adam and sgd, the\n"
        "previous optimiser state) instead of a new initialisation.",
    ),
}


def solver_parameter_constraints(names, prefix=""):
    """``_parameter_constraints`` entries of these solver parameters, prefixed."""
    return {prefix + name: SOLVER_PARAMETERS[name].constraints for name in names}


def _solver_docstring(solvers, default):
    kind = "{" + ", ".join(f'"{s}"' for s in solvers) + "}"
    if len(solvers) == len(MINIBATCH_SOLVERS) and set(solvers) == set(
        MINIBATCH_SOLVERS
    ):
        doc = (
            "The minibatch optimiser: adam (Kingma and Ba, 2014) or sgd with\nmomentum."
        )
    else:
        doc = "\n".join(_SOLVER_DOCS[s] for s in solvers)
    return SolverParameter(None, None, kind, doc).docstring("solver", default)


def solver_parameters(*, solvers=tuple(SOLVERS), exclude=(), defaults=None, docs=None):
    """Class decorator: give an estimator the solver parameters, declared here.

    The decorated class writes its model parameters in ``__init__`` and takes
    ``**solver_params`` after them, storing them with
    ``store_solver_parameters(self, solver_params)``. The decorator

    - adds the solver parameters to ``_parameter_constraints``;
    - sets the ``__init__`` signature scikit-learn reads (``get_params``,
      ``clone``, the repr): the model's parameters, then each solver
      parameter as a keyword with its default;
    - replaces ``{solver_parameters}`` in the class docstring by their
      entries.

    Parameters
    ----------
    solvers : tuple of str, default=all
        The solvers the estimator offers, the default first.
    exclude : tuple of str, default=()
        Solver parameters it does not take (``max_fun`` without lbfgs).
    defaults : dict, default=None
        Defaults that differ from :data:`SOLVER_PARAMETERS`'.
    docs : dict, default=None
        Descriptions that differ (where a solver the estimator lacks is named).
    """
    docs = docs or {}
    defaults = {"solver": solvers[0], **(defaults or {})}
    names = [name for name in SOLVER_PARAMETERS if name not in exclude]
    values = {
        name: defaults.get(name, SOLVER_PARAMETERS[name].default) for name in names
    }

    def decorate(cls):
        constraints = solver_parameter_constraints(names)
        constraints["solver"] = [StrOptions(set(solvers))]
        cls._parameter_constraints = {**cls._parameter_constraints, **constraints}
        cls._solver_parameter_defaults = values

        init = cls.__init__
        signature = inspect.signature(init)
        model = [p for p in signature.parameters.values() if p.kind != p.VAR_KEYWORD]
        solver = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=value)
            for name, value in values.items()
        ]
        init.__signature__ = signature.replace(parameters=model + solver)

        entries = [
            _solver_docstring(solvers, values["solver"])
            if name == "solver"
            else SolverParameter(
                value,
                None,
                SOLVER_PARAMETERS[name].kind,
                docs.get(name, SOLVER_PARAMETERS[name].doc),
            ).docstring(name, value)
            for name, value in values.items()
        ]
        # the placeholder stands indented by four spaces on a line of its own
        cls.__doc__ = cls.__doc__.replace("    {solver_parameters}", "\n".join(entries))
        return cls

    return decorate


def store_solver_parameters(estimator, solver_params):
    """Store the solver parameters given to ``__init__``, defaults for the rest.

    Raises TypeError for a name the estimator does not take, as Python does.
    """
    defaults = type(estimator)._solver_parameter_defaults
    unknown = sorted(set(solver_params) - set(defaults))
    if unknown:
        raise TypeError(
            f"{type(estimator).__name__}.__init__() got an unexpected keyword "
            f"argument {unknown[0]!r}"
        )
    for name, default in defaults.items():
        setattr(estimator, name, solver_params.get(name, default))


def _getter(params, prefix):
    """``get(name)``: ``params[prefix + name]``, else ``params[name]``, else default."""

    def get(name):
        for key in (prefix + name, name):
            if key in params:
                return params[key]
        return SOLVER_PARAMETERS[name].default

    return get


def make_solver(params, prefix=""):
    """The solver object that an estimator's parameters ask for.

    Parameters
    ----------
    params : dict
        The estimator's parameters (``get_params(deep=False)``).
    prefix : str, default=""
        A stage's prefix (``"pretrain_"``, ``"fine_tune_"``): ``prefix +
        name`` is read first, then ``name`` (parameters the stages share,
        such as ``tol``), then the default of :data:`SOLVER_PARAMETERS`.

    Returns
    -------
    LBFGSSolver or MinibatchDescent
    """
    get = _getter(params, prefix)
    return SOLVERS[get("solver")](get)


def stage_parameters(params, prefix, names):
    """The unprefixed solver parameters of a stage, for an estimator of its own.

    The stacked classifier builds each autoencoder with
    ``stage_parameters(self.get_params(), "pretrain_", names)``.
    """
    get = _getter(params, prefix)
    return {name: get(name) for name in names}


def partial_fit_available(prefix=""):
    """``available_if`` check: partial_fit needs a minibatch ``prefix + solver``."""

    def check(estimator):
        solver = getattr(estimator, prefix + "solver")
        build = SOLVERS.get(solver)  # an unknown one fails in partial_fit's checks
        get = _getter(estimator.get_params(deep=False), prefix)
        if build is not None and not build(get).supports_partial_fit:
            raise AttributeError(
                "partial_fit is only available for the minibatch solvers "
                f"{' and '.join(repr(s) for s in MINIBATCH_SOLVERS)}, not for "
                f"{prefix}solver={solver!r}."
            )
        return True

    return check
