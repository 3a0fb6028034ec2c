"""DGX-Pixels ComfyUI node pack."""
