"""Ready graphs built only from orkes' public API: start from them, or read them to learn."""

from orkes.prebuilt.agents import AgentState, tool_agent

__all__ = ["AgentState", "tool_agent"]
