"""Types shared by every part of orkes: messages, tool calls and connector Protocols."""
