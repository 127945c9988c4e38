"""Tests of the rotation protocol, its library API and the ``keyops rotate`` command."""
