"""`KohyaBackend`: a LoRA run as the user's sd-scripts, launched as an external process.

One run: check the inputs, render `sd-scripts.toml` and `dataset.toml` into the work
folder, start `PY -m accelerate.commands.launch … sdxl_train_network.py --config_file …`
in its own process group, follow its console (the tqdm bar: step, loss, speed, ETA) and its
TensorBoard events (learning rate, validation loss), and collect
`output/<name>.safetensors`, checked to be a kohya LoRA. A stop request ends the process
group (TERM, then KILL) and raises `StopRequested`; the `-state` folders it saved every
`save_every_n_steps` let a later `resume=True` request continue. A process that dies raises
`TrainerCrashed` with the tail of its output; the whole output stays in `sd-scripts.log`.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import logging
import os
import queue
import re
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final

from training.backend import (
    ProgressCallback,
    StopRequested,
    TrainOutcome,
    TrainProgress,
    TrainRequest,
)
from training.errors import DatasetError, SdScriptsError, TrainerCrashed, TrainingError
from training.kohya.install import SdScripts
from training.kohya.progress import BarLine, parse_bar, phase_message, read_scalars, split_console
from training.kohya.render import (
    RunFiles,
    RunInputs,
    dataset_config,
    to_toml,
    training_config,
)
from training.kohya.tokenizers import fill_tokenizer_cache
from training.registry import check_name

__all__ = ["KohyaBackend", "launch_command", "newest_state"]

log = logging.getLogger(__name__)

_STATE: Final = re.compile(r"-step(\d{8})-state$")
_TAIL_LINES: Final[int] = 40
_MANIFEST: Final[str] = "manifest.json"  # training.dataset.MANIFEST_NAME, without numpy


def newest_state(output_dir: Path, output_name: str) -> tuple[Path, int] | None:
    """The newest complete `-state` folder sd-scripts saved, and its step.

    Complete: it holds `train_state.json` (sd-scripts' step count) and accelerate's
    `random_states_0.pkl`, the last file `save_state` writes.
    """
    found: list[tuple[int, Path]] = []
    for folder in output_dir.glob(f"{output_name}-step*-state") if output_dir.is_dir() else []:
        match = _STATE.search(folder.name)
        if match is None or not (folder / "random_states_0.pkl").is_file():
            continue
        try:
            step = int(json.loads((folder / "train_state.json").read_text())["current_step"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        found.append((step, folder))
    if not found:
        return None
    step, folder = max(found)
    return folder, step


def launch_command(
    install: SdScripts, config: Path, mixed_precision: str, device: str
) -> list[str]:
    """`accelerate launch` of sdxl_train_network.py with the rendered config, one process."""
    command = [
        str(install.python),
        "-m",
        "accelerate.commands.launch",
        "--num_processes",
        "1",
        "--num_machines",
        "1",
        "--dynamo_backend",
        "no",
        "--mixed_precision",
        mixed_precision,
    ]
    if device == "cpu":
        command.append("--cpu")
    return [*command, str(install.script), "--config_file", str(config)]


def _child_env(device: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    index = device.partition(":")[2]
    if device.startswith("cuda") and index:
        env["CUDA_VISIBLE_DEVICES"] = index  # the process sees its one card as cuda:0
    return env


def _check_inputs(request: TrainRequest) -> int:
    """Refuse a bad name, dataset or checkpoint; returns how many images the dataset has."""
    check_name(request.output_name)
    manifest = request.dataset_dir / _MANIFEST
    try:
        images = json.loads(manifest.read_text(encoding="utf-8")).get("images", [])
    except FileNotFoundError as exc:
        raise DatasetError(
            "dataset_dir",
            str(request.dataset_dir),
            "holds no manifest.json; prepare it with `dgx-pixels train dataset`",
        ) from exc
    except (OSError, ValueError, AttributeError) as exc:
        raise DatasetError("dataset_dir", str(manifest), f"unreadable manifest ({exc})") from exc
    if not request.base_checkpoint.is_file():
        raise TrainingError("base_checkpoint", str(request.base_checkpoint), "no such file")
    return len(images) if isinstance(images, list) else 0


@dataclass
class _Console:
    """The child's merged stdout/stderr, read on a thread: kept whole in the log file,
    its last lines in `tail`, its complete lines handed over through `lines`."""

    stream: IO[bytes]
    log_file: IO[str]
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=_TAIL_LINES))

    def pump(self) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        while chunk := os.read(self.stream.fileno(), 65536):
            text = decoder.decode(chunk)
            self.log_file.write(text)
            done, pending = split_console(pending, text)
            for line in done:
                self.lines.put(line)
        done, _ = split_console(pending, decoder.decode(b"", final=True) + "\n")
        for line in done:
            self.lines.put(line)
        self.log_file.flush()
        self.lines.put(None)


@dataclass
class _Follow:
    """What the run has shown so far."""

    base_step: int
    total: int
    lr: float
    last: BarLine | None = None
    val: tuple[int, float] | None = None
    val_reported: int = -1

    def read_events(self, files: RunFiles) -> None:
        """The latest learning rate and validation loss from the TensorBoard events."""
        scalars = read_scalars(files.logging_dir)
        self.lr = scalars.lr[-1][1] if scalars.lr else self.lr
        self.val = scalars.val_loss[-1] if scalars.val_loss else self.val

    def progress(self, bar: BarLine) -> TrainProgress:
        self.last = bar
        val_loss = None
        if self.val is not None and self.val[0] != self.val_reported:
            val_loss, self.val_reported = self.val[1], self.val[0]
        return TrainProgress(
            step=self.base_step + bar.done,
            total_steps=self.total,
            loss=bar.loss,
            lr=self.lr,
            it_per_s=bar.it_per_s,
            eta_s=bar.eta_s,
            val_loss=val_loss,
        )


class KohyaBackend:
    """Trains with the user's kohya sd-scripts (see the module docstring).

    Args:
        install: A checked checkout and Python (`locate_sd_scripts`).
        tokenizer_cache_dir: Where sd-scripts reads the CLIP tokenizers; filled from the
            engine's offline tokenizer data before each run (`fill_tokenizer_cache`).
        stop_grace_s: How long a stopped process may take to exit before it is killed.
        poll_s: How often the run checks `should_stop` while the trainer is quiet.
    """

    name: Final[str] = "kohya"

    def __init__(
        self,
        install: SdScripts,
        tokenizer_cache_dir: Path,
        *,
        stop_grace_s: float = 15.0,
        poll_s: float = 0.2,
    ) -> None:
        self.install = install
        self.tokenizer_cache_dir = tokenizer_cache_dir
        self.stop_grace_s = stop_grace_s
        self.poll_s = poll_s

    def prepare(self, request: TrainRequest) -> tuple[RunFiles, int]:
        """Check the request and write both TOML files; returns the files and the step the
        run resumes from (0: fresh).

        Raises:
            TrainingError: a bad name, dataset, checkpoint or spec (named); nothing started.
        """
        images = _check_inputs(request)
        if request.spec.sample_every_n_steps:
            log.warning(
                "sample_every_n_steps=%d: sd-scripts runs draw no sample images yet "
                "(the embedded trainer does)",
                request.spec.sample_every_n_steps,
            )
        fill_tokenizer_cache(self.tokenizer_cache_dir)  # sd-scripts then needs no hub
        files = RunFiles.in_folder(request.work_dir)
        state = newest_state(files.output_dir, request.output_name) if request.resume else None
        inputs = RunInputs(
            base_checkpoint=request.base_checkpoint,
            output_name=request.output_name,
            trigger=request.trigger,
            tokenizer_cache_dir=self.tokenizer_cache_dir,
            has_bitsandbytes=self.install.has_bitsandbytes,
            resume_state=state[0] if state else None,
            images=images,
        )
        config = training_config(request.spec, files, inputs)
        dataset = dataset_config(request.spec, request.dataset_dir, images)
        request.work_dir.mkdir(parents=True, exist_ok=True)
        files.dataset.write_text(to_toml(dataset), encoding="utf-8")
        files.config.write_text(to_toml(config), encoding="utf-8")
        return files, state[1] if state else 0

    def train(
        self,
        request: TrainRequest,
        on_progress: ProgressCallback,
        should_stop: Callable[[], bool],
    ) -> TrainOutcome:
        """Run sd-scripts to `spec.steps` (see `TrainerBackend.train`).

        Raises:
            StopRequested: `should_stop()` turned true; the process group was ended.
            TrainingError: bad input (name, dataset, checkpoint, spec), before any launch.
            TrainerCrashed: the process exited with an error or without its LoRA file.
            LoraFormatError: the file it wrote is not a kohya LoRA.
        """
        # 1. Check and render, 2. launch, 3. follow to the end, 4. collect the LoRA.
        began = time.monotonic()
        files, resumed_from = self.prepare(request)
        follow = _Follow(resumed_from, request.spec.steps, request.spec.learning_rate)
        if resumed_from:
            on_progress(
                TrainProgress(resumed_from, follow.total, message=f"resuming at {resumed_from}")
            )
        command = launch_command(
            self.install, files.config, request.spec.mixed_precision, request.device
        )
        log.info("kohya: %s", " ".join(command))
        with files.log.open("w", encoding="utf-8") as log_file:
            process = self._launch(command, request.device)
            assert process.stdout is not None
            console = _Console(process.stdout, log_file)
            reader = threading.Thread(target=console.pump, name="kohya-console", daemon=True)
            reader.start()
            try:
                self._follow(console, follow, files, on_progress, should_stop, process)
                with contextlib.suppress(subprocess.TimeoutExpired):  # its console closed:
                    process.wait(timeout=60.0)  # let it exit by itself before `_end`
            finally:
                self._end(process)
                reader.join(timeout=5.0)
                process.stdout.close()
        outcome = self._collect(request, files, follow, console, process.returncode, began)
        follow.read_events(files)
        last_val = outcome.val_losses[-1][1] if outcome.val_losses else None
        on_progress(
            TrainProgress(
                outcome.steps,
                follow.total,
                outcome.final_loss,
                follow.lr,
                val_loss=last_val,
                message="finished",
            )
        )
        return outcome

    def _launch(self, command: list[str], device: str) -> subprocess.Popen[bytes]:
        """Start the run in its own process group (a stop ends accelerate's child too)."""
        try:
            return subprocess.Popen(
                command,
                cwd=self.install.root,
                env=_child_env(device),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:  # removed or broken since `locate_sd_scripts` checked it
            raise SdScriptsError(
                "sd_scripts_python", str(self.install.python), f"cannot be started ({exc})"
            ) from exc

    def _follow(
        self,
        console: _Console,
        follow: _Follow,
        files: RunFiles,
        on_progress: ProgressCallback,
        should_stop: Callable[[], bool],
        process: subprocess.Popen[bytes],
    ) -> None:
        """Hand on every new bar state and phase line until the console closes."""
        events_read = time.monotonic()
        while True:
            if should_stop():
                self._end(process)
                raise StopRequested(f"stopped at step {follow.base_step + _done(follow)}")
            try:
                line = console.lines.get(timeout=self.poll_s)
            except queue.Empty:
                continue
            if line is None:
                return
            console.tail.append(line)
            bar = parse_bar(line)
            if bar is not None and (follow.last is None or bar.done != follow.last.done):
                if time.monotonic() - events_read > 5.0:  # lr and validation loss
                    follow.read_events(files)
                    events_read = time.monotonic()
                on_progress(follow.progress(bar))
            elif bar is None and (message := phase_message(line)) is not None:
                on_progress(
                    TrainProgress(
                        follow.base_step + _done(follow),
                        follow.total,
                        lr=follow.lr,
                        message=message,
                    )
                )

    def _end(self, process: subprocess.Popen[bytes]) -> None:
        """Make sure the process group is gone: TERM, a grace period, then KILL."""
        if process.poll() is not None:
            # The launcher is gone; a child it left (holding the console pipe open) goes too.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            return
        for sig, wait_s in ((signal.SIGTERM, self.stop_grace_s), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=wait_s)
                return
            except subprocess.TimeoutExpired:
                continue

    def _collect(
        self,
        request: TrainRequest,
        files: RunFiles,
        follow: _Follow,
        console: _Console,
        returncode: int | None,
        began: float,
    ) -> TrainOutcome:
        from training.lora_io import read_lora

        lora = files.output_dir / f"{request.output_name}.safetensors"
        tail = "\n".join(console.tail)
        if returncode != 0:
            raise TrainerCrashed(self.name, returncode or -1, tail, str(files.log))
        if not lora.is_file():
            tail += f"\n(it exited 0 but wrote no {lora})"
            raise TrainerCrashed(self.name, 0, tail, str(files.log))
        read_lora(lora)  # a kohya LoRA, every triplet whole (LoraFormatError names the key)
        scalars = read_scalars(files.logging_dir)
        steps = follow.base_step + (follow.last.done if follow.last else 0) or request.spec.steps
        final_loss = scalars.loss[-1][1] if scalars.loss else None
        if final_loss is None and follow.last is not None:
            final_loss = follow.last.loss
        return TrainOutcome(
            lora_path=lora,
            backend=self.name,
            steps=steps,
            seconds=time.monotonic() - began,
            final_loss=final_loss,
            val_losses=scalars.val_loss,
            resumed_from=follow.base_step,
        )


def _done(follow: _Follow) -> int:
    return follow.last.done if follow.last else 0
