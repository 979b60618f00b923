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
