"""Test-session settings.

The tests fit many small models. On small matrices a multi-threaded BLAS
(or the kernels' OpenMP threads) gains little, and when other processes
compete for the cores (a busy CI machine, pytest-xdist) waiting threads can
make them one or two orders of magnitude slower. One BLAS thread and one
OpenMP thread keep the suite's time predictable; results do not depend on it
beyond rounding (the determinism tests compare runs made alike, and
``tests/test_kernels.py`` runs the kernels on several threads on purpose).
"""

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    with threadpool_limits(limits=1, user_api="blas"):
        with threadpool_limits(limits=1, user_api="openmp"):
            yield


@pytest.fixture
def interrupt_on_call(monkeypatch):
    """``interrupt_on_call(owner, name, n)``: Ctrl-C at the n-th call of owner.name.

    Replaces the attribute (a module's function or a class's method) with a
    wrapper that raises KeyboardInterrupt on its n-th call, as a user pressing
    Ctrl-C at that moment would; ``monkeypatch`` restores it after the test.
    """

    def patch(owner, name, n):
        original = getattr(owner, name)
        calls = []

        def interrupted(*args, **kwargs):
            calls.append(1)
            if len(calls) == n:
                raise KeyboardInterrupt
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, interrupted)

    return patch
