"""Handing a key to the software that needs it, without leaking it on the way.

Three hand-overs, one per command: a child process's environment (``keyops run``), a git-ignored
``0600`` ``.env`` file (``keyops env``), and a CI runner's secret masker followed by its
variable files (``keyops export``). The key is read from Key Vault (:mod:`.source`) and stays a
:class:`~keyops.secret.SecretValue` until the one call that must reveal it.
"""
