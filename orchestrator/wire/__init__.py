"""Every payload that crosses a process: ZeroMQ messages and events, MCP views, the job view."""
