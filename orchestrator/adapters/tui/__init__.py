"""The interactive terminal UI (`dgx-pixels tui`): a Textual app that talks to the daemon
over the ZeroMQ protocol only, so it never blocks on the GPU and any language can do the same.

Textual is imported only by `orchestrator.adapters.tui.app`; the renderer and client stay light.
"""
