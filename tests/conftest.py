"""Test-session settings.

The tests fit many small models. On small matrices a multi-threaded BLAS
gains little, and when other processes compete for the cores (a busy CI
machine, pytest-xdist) OpenBLAS threads can make them one or two orders of
magnitude slower. One BLAS thread keeps the suite's time predictable; results
do not depend on it (the determinism tests compare runs made alike).
"""

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True, scope="session")
def _one_blas_thread():
    with threadpool_limits(limits=1, user_api="blas"):
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
