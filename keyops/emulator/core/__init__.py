"""Shared machinery of the emulator: clock, state store, tokens, RBAC, faults, request log."""
