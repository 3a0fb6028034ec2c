"""Embedded ComfyUI-compatible engine: runs API-format workflows in-process on diffusers."""
