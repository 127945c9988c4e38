"""``keyops smoke``'s library: one minimal data-plane call per target, with a key from the
vault, ARM, the environment, a ``.env`` file or stdin (never an argument), or an Entra token.

:mod:`keyops.smoke.plan` decides the calls, :mod:`keyops.smoke.keys` reads the credentials,
:mod:`keyops.smoke.runner` makes them with :func:`keyops.azure.probe.probe`, and
:mod:`keyops.smoke.report` prints one line per target or a ``keyops.smoke/v1`` JSON document.
"""
