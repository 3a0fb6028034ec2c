"""DGX-Pixels orchestrator: ComfyUI client, workflow templates, jobs, service and adapters."""
