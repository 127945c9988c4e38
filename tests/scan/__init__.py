"""Tests of the leak scanner (keyops.scan, keyops scan)."""
