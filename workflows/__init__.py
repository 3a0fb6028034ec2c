"""DGX-Pixels workflow templates (data): API-format graphs, their sidecars in `sidecars/`,
and UI-format twins for the ComfyUI web editor in `ui/` (written by
`scripts/regenerate_ui_workflows.py`)."""
