"""The Azure OpenAI data plane (chat completions and completions) of every emulated account."""

from keyops.emulator.app import Service
from keyops.emulator.services.openai.urls import routes

SERVICE = Service(name="openai", routes=routes)
