"""One package per emulated service, each with moto's roles.

Each service package exposes a module-level ``SERVICE`` (:class:`keyops.emulator.app.Service`):
``urls.py`` (routes), ``responses.py`` (parse request, call the backend, serialise),
``models.py`` (state and rules, no HTTP), ``exceptions.py`` (errors with Azure's wire codes).
"""
