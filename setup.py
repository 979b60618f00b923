"""Builds the compiled kernels; the package's metadata lives in pyproject.toml.

One extension, ``skl_sparse_ae._kernels`` (Cython, with its C half in
``skl_sparse_ae/_kernels.h``). OpenMP is used when the compiler can build and
link a small OpenMP program; otherwise the build warns and goes on without it
(the kernels then run on one thread). ``SKL_SPARSE_AE_REQUIRE_OPENMP=1`` makes
a missing OpenMP an error: CI sets it.

After editing the ``.pyx`` or ``.h`` files of an editable install, rebuild
with ``pip install -e .`` again (or ``python setup.py build_ext --inplace``).
"""

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import warnings

from setuptools import Extension, setup

OPENMP_TEST = textwrap.dedent(
    """\
    #include <omp.h>
    #include <stdio.h>
    int main(void) {
        int n = 0;
        #pragma omp parallel reduction(+:n)
        n += 1;
        printf("%d", n > 0 && omp_get_max_threads() > 0);
        return 0;
    }
    """
)


def _compiler():
    return os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"


def openmp_flags():
    """Compile and link flags that give working OpenMP, or None.

    The test program is built and run with the compiler Python was built
    with (``$CC`` first), as scikit-learn's and POT's build helpers do.
    """
    if sys.platform == "win32":
        return ["/openmp"], []
    if sys.platform == "darwin":
        candidates = [(["-Xpreprocessor", "-fopenmp"], ["-lomp"])]
    else:
        candidates = [(["-fopenmp"], ["-fopenmp"])]
    compiler = _compiler().split()
    tmp = tempfile.mkdtemp()
    try:
        src = os.path.join(tmp, "test_openmp.c")
        exe = os.path.join(tmp, "test_openmp")
        with open(src, "w") as f:
            f.write(OPENMP_TEST)
        for cflags, ldflags in candidates:
            try:
                subprocess.run(
                    [*compiler, *cflags, src, "-o", exe, *ldflags],
                    check=True,
                    capture_output=True,
                )
                out = subprocess.run([exe], check=True, capture_output=True)
            except (OSError, subprocess.CalledProcessError):
                continue
            if out.stdout.strip() == b"1":
                return cflags, ldflags
        return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def kernels_extension():
    from Cython.Build import cythonize

    if sys.platform == "win32":
        compile_args, link_args = ["/O2"], []
    else:
        # No -ffast-math and no -march=native. -fno-trapping-math and
        # -fno-math-errno change no computed value (they say that floating
        # point traps and errno are not observed), which lets the compiler
        # vectorise the kernels' comparisons and square roots.
        compile_args = ["-O3", "-fno-trapping-math", "-fno-math-errno"]
        link_args = []
    flags = openmp_flags()
    if flags is None:
        message = (
            "skl_sparse_ae: the compiler cannot build OpenMP programs; the "
            "kernels are built without OpenMP and run on one thread."
        )
        if os.environ.get("SKL_SPARSE_AE_REQUIRE_OPENMP", "0") not in ("", "0"):
            raise RuntimeError(message + " (SKL_SPARSE_AE_REQUIRE_OPENMP is set)")
        warnings.warn(message, stacklevel=1)
        if sys.platform != "win32":
            # the SIMD pragmas still apply without the OpenMP runtime
            compile_args.append("-fopenmp-simd")
    else:
        compile_args += flags[0]
        link_args += flags[1]
    ext = Extension(
        "skl_sparse_ae._kernels",
        sources=["skl_sparse_ae/_kernels.pyx"],
        depends=["skl_sparse_ae/_kernels.h", "skl_sparse_ae/_kernels_rows.h"],
        include_dirs=["skl_sparse_ae"],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
    )
    return cythonize(
        [ext],
        compiler_directives={"language_level": 3},
        quiet=True,
    )


setup(ext_modules=kernels_extension())
