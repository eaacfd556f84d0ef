"""The one native module (gate/_fastblock.c: block answers for exactly listed names, see
gate/fastblock.py). Everything else about the package is in pyproject.toml. ``optional``:
without a C compiler the install still succeeds and the gate answers in Python alone."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("safegate.gate._fastblock", ["src/safegate/gate/_fastblock.c"],
                             extra_compile_args=["-O2", "-Wall", "-Werror"], optional=True)])
