"""Moving accounts off keys to Microsoft Entra ID: which accounts are ready and who must get
which role first (:mod:`~keyops.keyless.plan`), and setting ``disableLocalAuth`` with a last
check, an etag, a watch for broken callers and a rollback (:mod:`~keyops.keyless.apply`)."""
