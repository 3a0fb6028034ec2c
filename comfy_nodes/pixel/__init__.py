"""Pure pixel-art algorithms: numpy only, no ComfyUI, nothing at import time."""
