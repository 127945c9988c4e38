"""keyops: credential management and key rotation for Azure OpenAI / Azure AI Services."""

__version__ = "0.1.0"
