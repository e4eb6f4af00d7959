"""Connectors to LLM services; each satisfies :class:`orkes.shared.schema.LLMConnector`."""

from orkes.connectors.echo import EchoLlmConnector

__all__ = ["EchoLlmConnector"]
