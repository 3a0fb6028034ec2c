"""One engine process per GPU, supervised, published as a named group.

`dgx-pixels engine serve --gpus all|0,1,…|cpu:N` runs an `EngineGroup`: one engine process
per slot (`parse_gpus`), each pinned with `CUDA_VISIBLE_DEVICES` and listening on the base
port + its index. A member that dies is started again after a backoff (0.5 s, 1 s, 2 s …
capped; reset once it stayed up `stable_s`), logged and counted. SIGTERM/SIGINT to the
supervisor stops every member (TERM, then KILL after a grace period).

Discovery is a members file, `<data_dir>/engine/groups/<name>.json`, rewritten atomically
(temp file + rename) whenever a member starts or stops and removed on a clean stop. The
daemon's `backends` setting names the group as `engine://<name>` and its pool re-reads the
file at every health check (`read_group_members`), so members found later are added and
dead ones fail their health check. A file left by a killed supervisor lists members that
no longer answer: the pool sees them as down, nothing is sent there.

Each member is `python -m engine.member <config JSON>` in a session of its own (a terminal's
Ctrl-C reaches the supervisor only, which then stops the members in order); on Linux a
member also gets SIGTERM when the supervisor dies (`PR_SET_PDEATHSIG`). Members share the
models and input folders; each gets its own output and temp folder (`member-<i>`), since
SaveImage numbers files by scanning the folder and two processes would pick the same name.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

from comfy_nodes.pixel.atomic import write_atomic
from engine.errors import EngineError
from engine.runner import EngineConfig

__all__ = [
    "EngineGroup",
    "GroupMember",
    "MemberSlot",
    "config_from_json",
    "config_to_json",
    "group_file",
    "parse_gpus",
    "read_group_members",
]

logger = logging.getLogger(__name__)

GROUP_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
FILE_TYPE = "engine_group"
FILE_VERSION = 1
_PR_SET_PDEATHSIG = 1

MemberState = Literal["running", "backoff", "stopped"]


@dataclass(frozen=True)
class MemberSlot:
    """Where one member runs: its index, device and port.

    Attributes:
        index: 0-based position in the group (port = base port + index).
        device: "cuda" or "cpu".
        visible_devices: the member's `CUDA_VISIBLE_DEVICES` ("" hides every GPU).
        port: TCP port of its API.
    """

    index: int
    device: Literal["cuda", "cpu"]
    visible_devices: str
    port: int


@dataclass(frozen=True)
class GroupMember:
    """One member as the members file lists it."""

    index: int
    url: str
    device: str  # "cuda:<visible devices>" or "cpu"
    pid: int | None
    restarts: int
    state: MemberState


def _visible_gpus(count_gpus: Callable[[], int]) -> list[str]:
    """What `all` means: the supervisor's own CUDA_VISIBLE_DEVICES, else every GPU."""
    inherited = os.environ.get("CUDA_VISIBLE_DEVICES")
    if inherited is not None and inherited.strip():
        return [d.strip() for d in inherited.split(",") if d.strip()]
    return [str(i) for i in range(count_gpus())]


def _torch_gpu_count() -> int:
    import torch

    return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0


def parse_gpus(
    spec: str, base_port: int, count_gpus: Callable[[], int] = _torch_gpu_count
) -> tuple[MemberSlot, ...]:
    """The group's slots from `--gpus`.

    `all` is one member per visible GPU; `0,1,3` names GPUs (a GPU named twice, `0,0`, runs
    two engines on it); `cpu:N` runs N CPU engines.

    Raises:
        EngineError: A malformed spec, `all` with no GPU, or a port range outside 1..65535.
    """
    text = spec.strip().lower()
    if text.startswith("cpu:"):
        count = text.removeprefix("cpu:")
        if not count.isdigit() or not 1 <= int(count) <= 64:
            raise EngineError(f"gpus={spec!r}: cpu:N needs N between 1 and 64, e.g. cpu:2")
        devices: list[str | None] = [None] * int(count)
    elif text == "all":
        devices = list(_visible_gpus(count_gpus))
        if not devices:
            raise EngineError(f"gpus={spec!r}: no CUDA device is visible; use --gpus cpu:N")
    else:
        parts = [p.strip() for p in text.split(",")]
        if not parts or not all(p.isdigit() for p in parts):
            raise EngineError(
                f"gpus={spec!r} is not understood; use all, GPU indexes like 0,1 (0,0 runs "
                "two engines on GPU 0) or cpu:N"
            )
        devices = list(parts)
    if base_port < 1 or base_port + len(devices) - 1 > 65535:
        raise EngineError(
            f"port={base_port} cannot hold {len(devices)} member(s): members listen on port, "
            "port+1, …; give a base port between 1 and 65535 (0 is not allowed with --gpus)"
        )
    return tuple(
        MemberSlot(i, "cpu", "", base_port + i)
        if device is None
        else MemberSlot(i, "cuda", device, base_port + i)
        for i, device in enumerate(devices)
    )


def group_file(data_dir: Path, name: str) -> Path:
    """Where the members file of group `name` lives under `data_dir`.

    Raises:
        EngineError: `name` is not a short lowercase word (letters, digits, `-`, `_`).
    """
    if not GROUP_NAME.match(name):
        raise EngineError(
            f"group={name!r} is not a valid group name; use lowercase letters, digits, "
            "'-' and '_', e.g. local"
        )
    return Path(data_dir) / "engine" / "groups" / f"{name}.json"


def read_group_members(path: Path) -> tuple[GroupMember, ...]:
    """The members a group's file lists (none while the file does not exist).

    Raises:
        EngineError: The file is unreadable or not a members file (names the path).
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ()
    except (OSError, ValueError) as exc:
        raise EngineError(f"engine group file {path} cannot be read: {exc}") from exc
    if not isinstance(data, dict) or data.get("type") != FILE_TYPE:
        raise EngineError(f"engine group file {path} is not a members file (type {FILE_TYPE})")
    if data.get("version") != FILE_VERSION:
        raise EngineError(
            f"engine group file {path} has version {data.get('version')!r}; this dgx-pixels "
            f"reads version {FILE_VERSION}"
        )
    try:
        return tuple(GroupMember(**member) for member in data["members"])
    except (KeyError, TypeError) as exc:
        raise EngineError(f"engine group file {path} has a malformed member: {exc}") from exc


def config_to_json(config: EngineConfig) -> str:
    """An `EngineConfig` as JSON (paths as strings) for a member's command line."""
    values = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()}
    values["custom_node_dirs"] = [str(p) for p in config.custom_node_dirs]
    values["extra_model_paths_configs"] = [str(p) for p in config.extra_model_paths_configs]
    return json.dumps(values)


def config_from_json(text: str) -> EngineConfig:
    """The `EngineConfig` `config_to_json` wrote.

    Raises:
        EngineError: Not such a JSON object, or a field the engine does not have.
    """
    try:
        values = json.loads(text)
        paths = {f.name for f in fields(EngineConfig) if f.name.endswith("_dir")}
        for name in paths & set(values):
            if values[name] is not None:
                values[name] = Path(values[name])
        values["custom_node_dirs"] = tuple(Path(p) for p in values.get("custom_node_dirs", ()))
        values["extra_model_paths_configs"] = tuple(
            Path(p) for p in values.get("extra_model_paths_configs", ())
        )
        return EngineConfig(**values)
    except (ValueError, TypeError, AttributeError) as exc:
        raise EngineError(f"member config is not an EngineConfig in JSON: {exc}") from exc


def member_config(config: EngineConfig, slot: MemberSlot) -> EngineConfig:
    """The group's config for one member: its port and device, its own output and temp."""
    paths = config.paths()
    name = f"member-{slot.index}"
    return replace(
        config,
        port=slot.port,
        device=slot.device,
        output_dir=paths.output / name,
        temp_dir=paths.temp / name,
        input_dir=paths.input,
        models_dir=paths.models,
    )


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(OSError, AttributeError):  # not Linux: no such call
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class _Member:
    """One slot's process and its restart bookkeeping (the supervisor thread owns it)."""

    def __init__(self, slot: MemberSlot, config: EngineConfig, host: str) -> None:
        self.slot = slot
        self.config = config
        self.url = f"http://{host}:{slot.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.restarts = 0
        self.failures = 0  # deaths in a row without a stable run between them
        self.next_start = 0.0

    @property
    def state(self) -> MemberState:
        if self.process is not None and self.process.poll() is None:
            return "running"
        return "backoff" if self.next_start else "stopped"

    def view(self) -> GroupMember:
        device = f"cuda:{self.slot.visible_devices}" if self.slot.device == "cuda" else "cpu"
        pid = self.process.pid if self.state == "running" and self.process else None
        return GroupMember(self.slot.index, self.url, device, pid, self.restarts, self.state)


class EngineGroup:
    """Runs and supervises one engine process per slot.

    Args:
        config: The engine configuration every member shares (port and device are the
            slot's; output and temp get a `member-<i>` folder each).
        slots: Where members run (`parse_gpus`).
        members_file: Where the group is published (`group_file`).
        python: The interpreter members run under.
        env: Environment of the members (default: this process's).
        backoff_s: First restart delay; doubles per death in a row, up to `backoff_cap_s`.
        stable_s: A member that ran this long before dying is restarted after `backoff_s`.
        grace_s: How long a member may take to stop after SIGTERM before it is killed.
    """

    def __init__(
        self,
        config: EngineConfig,
        slots: tuple[MemberSlot, ...],
        members_file: Path,
        *,
        python: str = sys.executable,
        env: Mapping[str, str] | None = None,
        backoff_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        stable_s: float = 30.0,
        grace_s: float = 20.0,
    ) -> None:
        if not slots:
            raise EngineError("an engine group needs at least one member slot")
        host = config.host if config.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        self.members = [_Member(s, member_config(config, s), host) for s in slots]
        self.members_file = members_file
        self.python = python
        self.env = dict(os.environ if env is None else env)
        self.backoff_s, self.backoff_cap_s = backoff_s, backoff_cap_s
        self.stable_s, self.grace_s = stable_s, grace_s
        self._lock = threading.Lock()

    # --- the supervisor loop --------------------------------------------------------------
    def serve(self, stop: threading.Event, interval_s: float = 0.2) -> None:
        """Start every member, keep them running until `stop` is set, then stop them all.

        Call it from one long-lived thread: members are started (and restarted) from it,
        and on Linux a member is signalled when the thread that started it ends.
        """
        try:
            for member in self.members:
                self._spawn(member)
            self._publish()
            while not stop.wait(interval_s):
                self.supervise()
        finally:
            self.stop_members()

    def supervise(self, now: float | None = None) -> None:
        """One supervision step: notice deaths, restart members whose backoff has passed."""
        now = time.monotonic() if now is None else now
        changed = False
        for member in self.members:
            if member.process is not None and member.process.poll() is not None:
                self._died(member, now)
                changed = True
            elif member.process is None and member.next_start and now >= member.next_start:
                member.restarts += 1
                logger.warning(
                    "engine member %d: restarting (restart #%d)",
                    member.slot.index,
                    member.restarts,
                )
                self._spawn(member)
                changed = True
        if changed:
            self._publish()

    def _died(self, member: _Member, now: float) -> None:
        assert member.process is not None
        code = member.process.returncode
        ran_s = now - member.started_at
        member.failures = 1 if ran_s >= self.stable_s else member.failures + 1
        delay = min(self.backoff_cap_s, self.backoff_s * 2 ** (member.failures - 1))
        member.process = None
        member.next_start = now + delay
        logger.warning(
            "engine member %d (%s) exited with code %s after %.1f s; restarting in %.1f s",
            member.slot.index,
            member.url,
            code,
            ran_s,
            delay,
        )

    def _spawn(self, member: _Member) -> None:
        env = {**self.env, "CUDA_VISIBLE_DEVICES": member.slot.visible_devices}
        env["DGXP_ENGINE_MEMBER"] = str(member.slot.index)
        command = [self.python, "-m", "engine.member", config_to_json(member.config)]
        member.process = subprocess.Popen(
            command,
            env=env,
            start_new_session=True,  # Ctrl-C reaches the supervisor, which stops members
            preexec_fn=_die_with_parent,  # takes no lock: safe between fork and exec
        )
        member.started_at = time.monotonic()
        member.next_start = 0.0
        logger.info(
            "engine member %d: pid %d on %s at %s",
            member.slot.index,
            member.process.pid,
            member.view().device,
            member.url,
        )

    def stop_members(self) -> None:
        """SIGTERM every member, wait up to `grace_s`, SIGKILL the rest; unpublish."""
        running = [m for m in self.members if m.process is not None]
        for member in running:
            assert member.process is not None
            if member.process.poll() is None:
                member.process.terminate()
        deadline = time.monotonic() + self.grace_s
        for member in running:
            assert member.process is not None
            try:
                member.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("engine member %d did not stop; killing it", member.slot.index)
                member.process.kill()
                member.process.wait()
            member.process = None
        for member in self.members:
            member.next_start = 0.0
        self.members_file.unlink(missing_ok=True)
        logger.info("engine group stopped (%d member(s))", len(self.members))

    # --- publication ----------------------------------------------------------------------
    def views(self) -> tuple[GroupMember, ...]:
        """Every member as the members file lists it now."""
        return tuple(m.view() for m in self.members)

    def _publish(self) -> None:
        """Rewrite the members file atomically (readers never see half a file)."""
        document: dict[str, Any] = {
            "type": FILE_TYPE,
            "version": FILE_VERSION,
            "supervisor_pid": os.getpid(),
            "updated_at": time.time(),
            "members": [asdict(v) for v in self.views()],
        }
        with self._lock:
            self.members_file.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.members_file, json.dumps(document, indent=1).encode("utf-8"))
