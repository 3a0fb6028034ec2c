"""Thin adapters over `orchestrator.service.Service`: CLI, ZeroMQ bridge, MCP server, TUI."""
