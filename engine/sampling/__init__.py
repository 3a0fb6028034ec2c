"""ComfyUI-compatible sampling in k-diffusion sigma space on a diffusers UNet.

`ksampler.sample` is the one entry point the KSampler nodes and the throughput benchmark
call; it mirrors `comfy.sample.sample`: ComfyUI's CPU noise from the seed, its sigma
schedules, its samplers (k-diffusion math) and EPS/CFG wrapping.
"""
