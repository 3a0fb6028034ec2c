"""A stand-in for kohya sd-scripts' `sdxl_train_network.py`, for tests (never the real one).

It reads the same `--config_file` and dataset TOML, prints the log and tqdm bar lines the
real script prints (`steps:  12%|█▏   | 360/3000 [05:12<38:01,  1.16it/s, avr_loss=0.0912]`,
redrawn with `\\r` on stderr), writes TensorBoard scalars under `logging_dir` as accelerate's
tracker does (`loss/current`, `loss/average`, `lr/unet`, and with a `validation_split`
`loss/validation/step_average` every `validate_every_n_steps`), saves `-stepNNNNNNNN-state` folders
with `train_state.json` every `save_every_n_steps`, continues from `resume`, and ends with a
small kohya-format LoRA at `output_dir/output_name.safetensors`.

`FAKE_SD_SCRIPTS` picks a behaviour: `ok` (default), `crash` (a traceback and exit 1 at
`FAKE_CRASH_AT`, default step 3), `slow` (`FAKE_STEP_S` seconds a step, default 0.1),
`nolora` (exit 0 without the LoRA file).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

MODULES = (
    "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q",
    "lora_unet_middle_block_1_proj_in",
)


def log(message: str) -> None:
    print(f"2026-01-01 00:00:00 INFO     {message}", file=sys.stderr, flush=True)


def bar(done: int, total: int, loss: float) -> str:
    pct = done * 100 // total
    filled = "█" * (pct // 10)
    return (
        f"\rsteps: {pct:3d}%|{filled:<10}| {done}/{total} "
        f"[00:{done:02d}<00:{total - done:02d},  9.87it/s, avr_loss={loss:.4g}]"
    )


def tb_writer(logging_dir: str | None):
    if not logging_dir:
        return None
    try:
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError:
        return None
    run = Path(logging_dir) / time.strftime("%Y%m%d%H%M%S") / "network_train"
    return EventFileWriter(str(run))


def tb_scalars(writer, step: int, values: dict[str, float]) -> None:
    if writer is None:
        return
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary

    summary = Summary(value=[Summary.Value(tag=k, simple_value=v) for k, v in values.items()])
    writer.add_event(Event(wall_time=time.time(), step=step, summary=summary))
    writer.flush()


def save_state(out: Path, name: str, step: int) -> None:
    state = out / f"{name}-step{step:08d}-state"
    state.mkdir(parents=True, exist_ok=True)
    (state / "train_state.json").write_text(json.dumps({"current_epoch": 1, "current_step": step}))
    (state / "random_states_0.pkl").write_bytes(b"fake")


def save_lora(path: Path, config: dict) -> None:
    rank, alpha = int(config["network_dim"]), float(config["network_alpha"])
    rng = np.random.default_rng(0)
    tensors = {}
    for module in MODULES:
        tensors[f"{module}.lora_down.weight"] = rng.standard_normal((rank, 16)).astype(np.float16)
        tensors[f"{module}.lora_up.weight"] = rng.standard_normal((16, rank)).astype(np.float16)
        tensors[f"{module}.alpha"] = np.array(alpha, dtype=np.float16)
    metadata = {
        "ss_network_module": config["network_module"],
        "ss_network_dim": str(rank),
        "ss_network_alpha": str(alpha),
        "ss_output_name": config["output_name"],
        "ss_base_model_version": "sdxl_base_v1-0",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=metadata)


def resume_step(config: dict) -> int:
    if not config.get("resume"):
        return 0
    state = json.loads((Path(config["resume"]) / "train_state.json").read_text())
    log(f"resume training from local state: {config['resume']}")
    return int(state["current_step"])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config_file", required=True)
    config = tomllib.loads(Path(parser.parse_args().config_file).read_text(encoding="utf-8"))
    dataset = tomllib.loads(Path(config["dataset_config"]).read_text(encoding="utf-8"))
    mode = os.environ.get("FAKE_SD_SCRIPTS", "ok")
    image_dir = Path(dataset["datasets"][0]["subsets"][0]["image_dir"])
    log(f"found directory {image_dir} contains {len(list(image_dir.glob('*.png')))} image files")
    log("caching latents.")
    out, name = Path(config["output_dir"]), config["output_name"]
    total, start = int(config["max_train_steps"]), resume_step(config)
    writer = tb_writer(config.get("logging_dir"))
    lr = float(config["learning_rate"])
    general = dataset.get("general", {})
    validate_every = int(config.get("validate_every_n_steps", 0))
    if validate_every and not general.get("validation_split"):
        validate_every = 0  # sd-scripts validates only with a validation split
    sys.stderr.write(f"\rsteps:   0%|          | 0/{total - start} [00:00<?, ?it/s]")
    for done in range(1, total - start + 1):
        step = start + done
        loss = 0.2 / step**0.5
        if mode == "crash" and step == int(os.environ.get("FAKE_CRASH_AT", "3")):
            print("\nTraceback (most recent call last):", file=sys.stderr)
            print('  File "train_network.py", line 1500, in train', file=sys.stderr)
            print("torch.OutOfMemoryError: CUDA out of memory (fake)", file=sys.stderr, flush=True)
            return 1
        time.sleep(float(os.environ.get("FAKE_STEP_S", "0.1")) if mode == "slow" else 0)
        sys.stderr.write(bar(done, total - start, loss))
        sys.stderr.flush()
        tb_scalars(writer, step, {"loss/current": loss, "loss/average": loss, "lr/unet": lr})
        if validate_every and step % validate_every == 0:
            tb_scalars(writer, step, {"loss/validation/step_average": loss * 1.5})
        if step % int(config["save_every_n_steps"]) == 0:
            save_state(out, name, step)
    sys.stderr.write("\n")
    if mode != "nolora":
        log(f"saving checkpoint: {out / (name + '.safetensors')}")
        save_lora(out / f"{name}.safetensors", config)
    log("model saved.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
