"""Evaluation tools for ``keyops scan``: key generators and synthetic corpora with planted leaks.

Not part of the runtime package (``pip install keyops`` ships none of it); scripts and tests
import it as ``keyops_bench.scan``.
"""
