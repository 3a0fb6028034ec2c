"""SDXL model loading for the engine: single-file checkpoints, kohya LoRAs, the model cache.

Modules: `architecture` (shapes → configs), `checkpoint` (file → diffusers modules),
`lora` (kohya LoRA parse/match/patch), `prompt` (ComfyUI prompt weights and 77-token
chunks), `sdxl` (MODEL/CLIP/VAE wrappers), `cache`
(`ModelCache`), `device`, `hashing`, `synthetic` (random SDXL-shaped files for demo/tests).
Import the submodules directly; this package imports nothing heavy.
"""
