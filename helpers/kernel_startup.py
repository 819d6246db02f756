# IPython runs this file before a notebook's first cell when the kernel was started with
# PYTHONSTARTUP pointing here (the test suite and the notebook build do, see helpers/strict.py).
# One expression, so that no name leaks into the notebook's namespace.
__import__("helpers.strict").strict.strict_warnings_if_set()
