"""The cloud-metadata document ARM serves at ``/metadata/endpoints``, describing the emulator:
``az cloud register --endpoint-resource-manager URL`` (without ``--skip-endpoint-discovery``)
and SDKs that discover a cloud read it."""

from keyops.emulator.app import Service
from keyops.emulator.services.cloudmeta.urls import routes

SERVICE = Service(name="cloudmeta", routes=routes)
