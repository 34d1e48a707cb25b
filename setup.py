"""Builds the Cython extensions in native/.

Works for `pip install .`, `pip install -e .` and as Apache Beam's `--setup_file` (Beam runs
`python setup.py sdist` on the launcher and installs that sdist on every worker, so the
`.pyx` sources ship in the sdist and are compiled there).
"""
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

ROOT = Path(__file__).parent
MODULES = sorted(p.with_suffix("").relative_to(ROOT).as_posix().replace("/", ".")
                 for p in (ROOT / "native").rglob("*.pyx"))


def extensions():
    exts = []
    for name in MODULES:
        source = name.replace(".", "/") + ".pyx"
        exts.append(Extension(name, [source], include_dirs=[numpy.get_include()],
                              extra_compile_args=["-O3"], language="c"))
    return cythonize(exts, compiler_directives={"language_level": "3"}, quiet=True)


setup(ext_modules=extensions())
