"""`Service`: the one use-case API that the CLI, the ZMQ bridge, the MCP server and the TUI call.

    service = build_service(settings)  # orchestrator.composition; or Service(settings, pool, …)
    with service:                                  # start(): reconcile, then worker threads
        jobs = service.submit(GenerationRequest(prompt="a red potion", count=2))
        done = service.wait(jobs[0].id, timeout_s=600)
        print(service.outputs(done.id).sprite)

Bad requests fail in `submit` with `InvalidRequest`/`TemplateError` before anything is
stored: the template is rendered and checked against a backend's `/object_info` first.
Each job stores where it runs (its absolute output folder, the backends asked for), and
whichever process runs it honours that. Workers claim queued jobs from the SQLite store (the
daemon any, a CLI service only its own: `claim_scope`), run them on the least-loaded (or
asked-for) backend and publish `JobEvent`s to subscribers. A job sent to a backend holds the
sending process's lease, renewed by a heartbeat; the daemon re-attaches in-flight jobs whose
lease expired (a killed or hung process), at start and every heartbeat: collected once if
done, followed if running, resubmitted if lost.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.errors import (
    DGXPixelsError,
    InvalidRequest,
    JobStateError,
    TemplateError,
)
from orchestrator.jobs.kinds import JobKind
from orchestrator.jobs.models import Job, JobOutputs
from orchestrator.jobs.states import JobState
from orchestrator.jobs.store import JobStore, NewJob
from orchestrator.service.admission import Admission
from orchestrator.service.backend_pool import BackendPool
from orchestrator.service.catalog import Catalog
from orchestrator.service.compare import ComparedJob, Comparison, labelled
from orchestrator.service.health import Health, HealthBoard
from orchestrator.service.job_events import EventHub, JobEvent, JobEventKind
from orchestrator.service.pixelize import PixelizeOutcome, Pixelizer, PixelizeRun, PixelizeStep
from orchestrator.service.pixelize_request import PixelizeRequest
from orchestrator.service.remote_paths import Origin, PathPolicy
from orchestrator.service.snapshot import DaemonSnapshot
from orchestrator.service.telemetry import ServiceTelemetry
from orchestrator.service.values import (
    BackendInfo,
    CompareVariant,
    GenerationRequest,
    LoraSpec,
    ModelInfo,
)
from orchestrator.settings import Settings
from orchestrator.workflows import (
    Template,
    TemplateInfo,
    TemplateLibrary,
    WorkflowError,
)

if TYPE_CHECKING:
    from orchestrator.deploy import Deployer, DeployResult
    from orchestrator.service.claims import ClaimScope
    from orchestrator.service.deploy import AssetDeploy
    from orchestrator.service.gpu import GpuTelemetry
    from orchestrator.service.job_runtime import JobRuntime
    from orchestrator.service.metrics import DaemonMetrics
    from orchestrator.service.train_eval import EvalProgress, EvalRequest, EvalResult
    from orchestrator.service.train_jobs import TrainingStatus
    from orchestrator.service.train_parts import TrainingParts
    from orchestrator.service.train_service import TrainJobRequest
    from training.dataset import DatasetResult
    from training.dataset_modes import AlphaMode
    from training.registry import RegisteredLora

__all__ = [
    "BackendInfo",
    "CompareVariant",
    "Comparison",
    "GenerationRequest",
    "Job",
    "JobEvent",
    "JobEventKind",
    "JobOutputs",
    "JobState",
    "LoraSpec",
    "ModelInfo",
    "PixelizeOutcome",
    "PixelizeRequest",
    "PixelizeRun",
    "Service",
]


class Service:
    """The orchestrator's use cases over one job store, template library and backend pool.

    Args:
        settings: The loaded settings.
        pool: Backends to run on (the service closes it on `stop()`).
        store: The job database.
        templates: The workflow templates.
        workers: Worker threads for `start()`; default `settings.workers`.
        claim_scope: Which queued jobs this process's workers run when it holds the data
            directory: "any" (the daemon, long-lived servers) or "own" (a short-lived CLI:
            only jobs submitted or retried through this service).
        metrics: The daemon's metric families (fed by this service's events, pool and
            runner); None: no metrics.
        gpus: GPU telemetry for status snapshots; None: no GPU figures.
        training: Trainer choice, LoRA registry and device for `train` jobs; None: as the
            settings configure them (`train_parts.default_training_parts`).
    """

    def __init__(
        self,
        settings: Settings,
        pool: BackendPool,
        store: JobStore,
        templates: TemplateLibrary,
        *,
        workers: int | None = None,
        claim_scope: ClaimScope = "any",
        metrics: DaemonMetrics | None = None,
        gpus: GpuTelemetry | None = None,
        training: TrainingParts | None = None,
    ) -> None:
        self.settings = settings
        self._training = training
        self.pool = pool
        self.store = store
        self.library = templates
        self.hub = EventHub()
        self._done = threading.Condition()
        self.hub.subscribe(self._notify_waiters)
        self._health = HealthBoard()
        self._telemetry = ServiceTelemetry(
            store,
            pool,
            self._health,
            self.hub,
            settings.data_dir,
            settings.health_interval_s,
            metrics,
            gpus,
        )
        self._runtime: JobRuntime | None = None  # built on first need: see `_jobs`
        self._runtime_lock = threading.Lock()
        self._runtime_options = (claim_scope, workers or settings.workers)
        self._catalog = Catalog(pool, settings)
        self._paths = PathPolicy.for_settings(settings)  # what remote callers may read
        self._pixelizer = Pixelizer(settings.resolved_output_dir, self._catalog.resolve_palette)
        self._admission = Admission(pool, self._catalog, self.template)
        self._deploys: AssetDeploy | None = None  # built on first use (imports pydantic)

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> Service:
        """Reconcile jobs a previous process left in flight, then start the workers.

        If another process already serves this data directory (`dgx-pixels serve`), this
        one starts no workers: its jobs run there, and their events reach this process's
        subscribers through the shared job store (all but previews).
        """
        self.pool.start()
        self._telemetry.start()
        self._jobs.start()
        return self

    @property
    def runs_jobs(self) -> bool:
        """True when this process's workers run the jobs (False: another process does)."""
        return self._jobs.runs_jobs

    def health(self) -> Health:
        """The daemon's own health: ok, or degraded with each reason and since when (a
        locked or full job store, a job database deleted or replaced under it). Cheap: it
        reads what the workers last met; backends have their own health (`backends()`)."""
        return self._health.snapshot()

    def status(self) -> DaemonSnapshot:
        """Health, queue depth, backends, img/min over the last 5 minutes, disk and GPUs,
        as last sampled (every `health_interval_s` while the service runs; taken now before
        `start()`). Never probes a backend."""
        return self._telemetry.latest()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the workers (in-flight jobs stay recorded and are re-attached next start),
        close the pool (stopping an in-process engine) and the store."""
        if self._runtime is not None:
            self._runtime.stop(timeout_s)
        self._telemetry.stop()
        self.pool.close()
        self.store.close()

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def _jobs(self) -> JobRuntime:
        """The job runtime, built on first need so that use cases running no job
        (pixelize, catalogues) never load the runner and its WebSocket client."""
        with self._runtime_lock:
            if self._runtime is None:
                from orchestrator.service.job_runtime import JobRuntime, RuntimeParts

                claim_scope, workers = self._runtime_options
                self._runtime = JobRuntime(
                    RuntimeParts(
                        self.settings,
                        self.store,
                        self.pool,
                        self.hub,
                        self.library,
                        self._health,
                        self._telemetry.delivered,
                        claim_scope,
                        workers,
                        self.training_parts,
                    )
                )
            return self._runtime

    # --- jobs ---------------------------------------------------------------------------------
    def submit(
        self,
        request: GenerationRequest,
        *,
        backends: Sequence[str] = (),
        origin: Origin = "local",
    ) -> list[Job]:
        """Check, queue and announce `request.count` jobs.

        Each job stores where it runs: the output folder of this service's settings (as an
        absolute path) and `backends`, whichever process ends up running it.

        Args:
            request: What to generate.
            backends: Backend URLs the jobs must run on (one of them); empty: any backend
                of the process that runs them. `request.backend` pins one.
            origin: `remote` for ZMQ/MCP clients: palette files only from the data dir's
                `palettes/` and outputs folders (`remote_paths.PathPolicy`).

        Raises:
            InvalidRequest: A field has a bad value (named in the message).
            TemplateError: Unknown template/parameter, or the graph does not fit the backend.
            BackendError: No backend is reachable to check the graph against.
        """
        request = self._paths.request(request, origin)
        return self._enqueue(self._admission.prepare(request), backends)

    def submit_many(
        self, requests: Sequence[GenerationRequest], *, backends: Sequence[str] = ()
    ) -> list[Job]:
        """Check every request first, then queue all their jobs in one transaction (a bad
        row in a batch file queues nothing). Raises like `submit`, naming the request index."""
        new: list[NewJob] = []
        for i, request in enumerate(requests):
            try:
                new += self._admission.prepare(request)
            except InvalidRequest as exc:
                raise InvalidRequest(f"requests[{i}].{exc.field}", exc.value, exc.reason) from exc
            except DGXPixelsError as exc:
                raise type(exc)(f"requests[{i}]: {exc}") from exc
        return self._enqueue(new, backends)

    def compare(
        self,
        prompt: str,
        seed: int,
        variants: Sequence[CompareVariant],
        params: Mapping[str, Any] | None = None,
        *,
        origin: Origin = "local",
    ) -> Comparison:
        """Same prompt, seed and template parameters across 2–4 checkpoint/LoRA variants
        (one `single_sprite` job each, sharing a batch id), each with its label.

        Args:
            prompt: What every variant draws.
            seed: The one seed they share (0..2**64-1).
            variants: 2–4 checkpoints / LoRA sets; a variant's checkpoint and LoRAs win
                over `params`. An empty label gets the rule of `service.compare.label_of`
                (model names joined with `+`, else `base`).
            params: Other template parameters (`width`, `height`, `steps`, `cfg` …),
                checked exactly as `submit` checks them.
            origin: `remote` for ZMQ/MCP clients (see `submit`).

        Returns:
            The labelled jobs, in variant order (every adapter shows these labels).

        Raises:
            InvalidRequest: Fewer than 2 or more than 4 variants, two variants with one
                label, or a bad variant or field.
            TemplateError: A parameter the template refuses (unknown, out of range).
        """
        params = self._paths.params(params, origin)
        variants = labelled(variants)
        jobs = self._enqueue(self._admission.prepare_compare(prompt, seed, variants, params))
        return Comparison(tuple(map(ComparedJob, (v.label for v in variants), jobs)))

    def _enqueue(self, new: list[NewJob], backends: Sequence[str] = ()) -> list[Job]:
        for url in backends:  # checked before anything is stored
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise InvalidRequest(
                    "backends", url, "must be an http:// or https:// URL of a ComfyUI or engine"
                )
        self._jobs.check_store_file()  # never queue into a database nobody will read again
        out_dir = str(self.settings.resolved_output_dir.expanduser().absolute())
        placed = [replace(n, out_dir=out_dir, preferred_backends=tuple(backends)) for n in new]
        jobs = self.store.create(placed)
        for job in jobs:
            self.hub.publish(JobEventKind.QUEUED, job.id, job=job)
        self._jobs.queued(j.id for j in jobs)
        return jobs

    def get_job(self, job_id: str) -> Job:
        """The job (full id or a unique prefix of ≥ 4 characters). Raises `JobNotFound`."""
        return self.store.get(job_id)

    def list_jobs(self, state: JobState | None = None, limit: int = 50) -> list[Job]:
        """Newest first, optionally one state only."""
        if not 1 <= limit <= 10_000:
            raise InvalidRequest("limit", limit, "must be in 1..10000")
        return self.store.list_jobs(state, limit)

    def cancel(self, job_id: str, reason: str = "cancelled by user") -> Job:
        """Cancel a queued or in-flight job, interrupting and deleting its prompt on its
        backend (the stored backend URL: it works even when no process follows the job).
        Cancelling a cancelled job changes nothing and returns it as it is.

        Raises:
            JobNotFound: No such job.
            JobStateError: It succeeded or failed (a failed job can be retried instead).
        """
        job = self.store.get(job_id)
        if job.state is JobState.CANCELLED:
            return job
        self._jobs.cancels.request(job.id)
        cancelled = self.store.mark_cancelled(job.id, reason)
        in_flight = job.state in (JobState.SUBMITTED, JobState.RUNNING)
        if in_flight and job.kind is JobKind.GENERATE and job.backend and job.prompt_id:
            self._jobs.interrupt_remote(job.backend, job.prompt_id)  # a run stops by itself
        self.hub.publish(JobEventKind.CANCELLED, job.id, message=reason, job=cancelled)
        return cancelled

    def retry(self, job_id: str) -> Job:
        """Queue a failed or cancelled job again (same id, same parameters and seed).

        Raises:
            JobStateError: The job is not failed or cancelled.
        """
        job = self.store.get(job_id)
        if job.state not in (JobState.FAILED, JobState.CANCELLED):
            raise JobStateError(
                f"job {job.id}: only failed or cancelled jobs can be retried; it is {job.state}"
            )
        self._jobs.cancels.clear(job.id)
        queued = self.store.requeue(job.id, None)
        self.hub.publish(JobEventKind.QUEUED, job.id, job=queued)
        self._jobs.queued([job.id])  # retried here: a CLI service may run it
        return queued

    def wait(self, job_id: str, timeout_s: float = 600.0) -> Job:
        """Block until the job is final or `timeout_s` passes; returns it either way."""
        deadline = time.monotonic() + timeout_s
        job = self.store.get(job_id)
        while not job.state.is_terminal:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return job
            with self._done:
                self._done.wait(min(remaining, 0.5))  # poll too: another process may finish it
            job = self.store.get(job.id)
        return job

    def _notify_waiters(self, event: JobEvent) -> None:
        if event.kind in (JobEventKind.SUCCEEDED, JobEventKind.FAILED, JobEventKind.CANCELLED):
            with self._done:
                self._done.notify_all()

    def outputs(self, job_id: str) -> JobOutputs:
        """The files the job wrote (empty until it succeeded)."""
        job = self.store.get(job_id)
        return JobOutputs(job_id=job.id, sprites=job.files)

    def subscribe(self, callback: Callable[[JobEvent], None]) -> Callable[[], None]:
        """Get every `JobEvent` (on worker threads; keep the callback quick).

        Returns:
            A function that unsubscribes.
        """
        return self.hub.subscribe(callback)

    # --- deploy -------------------------------------------------------------------------------
    @property
    def deployer(self) -> Deployer:
        """The Bevy projects of `settings.bevy_projects` and the safe copy into them."""
        return self._asset_deploy().deployer

    def _asset_deploy(self) -> AssetDeploy:
        if self._deploys is None:
            from orchestrator.deploy import Deployer, ProjectRegistry
            from orchestrator.service.deploy import AssetDeploy

            deployer = Deployer(ProjectRegistry(self.settings.bevy_projects))
            self._deploys = AssetDeploy(deployer, self.get_job, self.settings.resolved_output_dir)
        return self._deploys

    def deploy(
        self,
        project: str,
        name: str,
        *,
        job_id: str | None = None,
        path: str | Path | None = None,
        index: int = 0,
        overwrite: bool = False,
        dry_run: bool = False,
    ) -> DeployResult:
        """Copy a succeeded job's sprite (and atlas), or a PNG under the outputs folder,
        into a registered Bevy project's `assets/` (atomically; recorded in its manifest).

        Args:
            project: Registered project, by folder name or root path.
            name: Asset path under `assets/` (`potion` means `generated/potion.png`).
            job_id: A succeeded job (give this or `path`).
            path: Instead of `job_id`: a sprite the service wrote (e.g. by pixelize).
            index: Which sprite of a batch job.
            overwrite: Replace an existing asset (it is backed up first).
            dry_run: Only plan: say what would be written, write nothing.

        Raises:
            InvalidRequest: Neither or both of `job_id`/`path`, a bad `index`, or a `path`
                outside the outputs folder.
            JobStateError: The job has not succeeded.
            DeployError: The project, name or file is refused.
        """
        return self._asset_deploy().deploy(
            project,
            name,
            job_id=job_id,
            path=path,
            index=index,
            overwrite=overwrite,
            dry_run=dry_run,
        )

    # --- catalogue ----------------------------------------------------------------------------
    def templates(self) -> list[TemplateInfo]:
        """Every workflow template with its description and parameter names."""
        return self.library.list()

    def template(self, name: str) -> Template:
        """One template (parameters with types, defaults, ranges). Raises `TemplateError`."""
        try:
            return self.library.get(name)
        except WorkflowError as exc:
            raise TemplateError(str(exc)) from exc

    def models(self) -> list[ModelInfo]:
        """Checkpoints the backends can load."""
        return self._catalog.models("checkpoints")

    def loras(self) -> list[ModelInfo]:
        """LoRAs the backends can load."""
        return self._catalog.models("loras")

    def palettes(self) -> list[str]:
        """Built-in palette names (a .gpl/.hex path works wherever a name does)."""
        return self._catalog.palettes()

    def backends(self) -> list[BackendInfo]:
        """Health of every backend, probed now."""
        return self.pool.check_all()

    # --- pixelize (local, no backend) ---------------------------------------------------------
    def pixelize_files(
        self,
        paths: Sequence[Path | str],
        options: PixelizeRequest,
        *,
        out: Path | None = None,
        shared_palette: bool = False,
        progress: Callable[[PixelizeStep], None] | None = None,
    ) -> PixelizeRun:
        """Pixelize image files and folders of images into sprites, previews and sidecars.

        Args:
            paths: Image files and/or folders of images (not recursive).
            options: How to pixelize (checked first; `palette` with `colors` is refused).
            out: Output folder, or the `.png` of a single input; default `<outputs>/pixelized`.
            shared_palette: One palette built over every sprite of the run (a matching set).
            progress: Called after each input of each pass.

        Returns:
            The sprites written (with their QA warnings) and every input that failed.

        Raises:
            InvalidRequest: A bad option, or a `.png` `out` for a folder or several inputs
                (nothing is read or written then).
        """
        return self._pixelizer.pixelize_files(
            paths, options, out=out, shared_palette=shared_palette, progress=progress
        )

    def pixelize_file(
        self, source: Path | str | bytes, options: PixelizeRequest, *, origin: Origin = "local"
    ) -> PixelizeOutcome:
        """Pixelize one picture (a path, or bytes such as an upload) like `pixelize_files`.

        `origin="remote"` (ZMQ/MCP): the path and a palette file must lie in the data dir's
        `palettes/` or outputs folder (`remote_paths.PathPolicy`).

        Raises:
            InvalidRequest: A bad option, or a path a remote caller may not name.
            ValueError: The picture is unusable (the pixel core's message).
            OSError: An output could not be written (nothing is left behind).
        """
        source = self._paths.source(source, origin)
        options = replace(options, palette=self._paths.palette(options.palette, origin))
        began = time.monotonic()
        outcome = self._pixelizer.pixelize_source(source, options)
        self._telemetry.pixelized(time.monotonic() - began)
        return outcome

    def prepare_dataset(
        self,
        src: Path,
        out: Path,
        trigger: str,
        *,
        min_images: int = 5,
        alpha: AlphaMode = "key",
        key_color: str = "#FF00FF",
        captions_csv: Path | None = None,
        auto_tags: bool = True,
    ) -> DatasetResult:
        """Turn a folder of sprites into a captioned, SDXL-bucket-sized LoRA dataset.

        Each distinct PNG/WebP/GIF (first frame) is brought to 1 px per cell, its alpha
        flattened onto `key_color` (`alpha="mask"` also writes `masks/<name>.png`), repeated
        by a whole factor into an SDXL bucket and captioned `trigger, own text, auto tags`;
        `out` gets the images, captions and `manifest.json`, all at once.

        Args:
            src: The folder of sprites (not recursive).
            out: The dataset folder to create (new, or empty).
            trigger: The trigger word every caption starts with.
            min_images: Fewest distinct images to accept.
            alpha: `key` or `mask` (`DATASET_ALPHA_MODES`).
            key_color: `#RRGGBB` behind transparent pixels and padding.
            captions_csv: A `file,caption` CSV instead of `<name>.txt` sidecars.
            auto_tags: Add colour count, size and "transparent background" tags.

        Raises:
            InvalidRequest: a bad option, too few images, a corrupt or unusable file (named);
                nothing is written then.
            OSError: writing failed; nothing is left at `out`.
        """
        from orchestrator.service.train_dataset import prepare_dataset

        return prepare_dataset(
            src, out, trigger, min_images=min_images, alpha=alpha, key_color=key_color,
            captions_csv=captions_csv, auto_tags=auto_tags,
        )  # fmt: skip

    def evaluate_lora(
        self, request: EvalRequest, progress: Callable[[EvalProgress], None] | None = None
    ) -> EvalResult:
        """A LoRA against its base model: a fixed-seed grid through `compare`, the
        validation-loss verdict, SSIM/PSNR against held-out images, the pixel-art metrics,
        and `report.html` (with PNG plots and `report.json`) in `request.out`.

        Blocks until every generation is done (this service's workers, or the daemon's,
        must run them). `progress` is called as each generation finishes.

        Raises:
            InvalidRequest: A bad input, named: no such LoRA, an empty or unreadable
                prompts file, a held-out folder without images, a dataset folder without
                manifest, a report folder that is not new; nothing is generated then.
            TemplateError: A template parameter the template refuses.
            BackendError: A generation failed or timed out (the rest are cancelled and no
                report is written).
        """
        from orchestrator.service.train_eval import evaluate_lora

        return evaluate_lora(self, request, progress)

    # --- training ------------------------------------------------------------------------------
    @property
    def training_parts(self) -> TrainingParts:
        """Trainer choice, LoRA registry and device (as the settings say, unless given)."""
        if self._training is None:
            from orchestrator.service.train_eval import after_training
            from orchestrator.service.train_parts import default_training_parts

            parts = default_training_parts(self.settings)
            self._training = replace(parts, evaluate=after_training(self))
        return self._training

    def train(self, request: TrainJobRequest, *, origin: Origin = "local") -> Job:
        """Check and queue a LoRA training run: a `train` job, run one at a time by the
        trainer thread of the process that runs jobs (the daemon, or this CLI).

        Everything is checked before anything is stored (see `train_service`); on success
        the LoRA is registered as `models/loras/<name>.safetensors` with its card. Cancel it
        with `cancel`; follow it with `training_status` or the job's progress events.

        Args:
            request: What to train.
            origin: `remote` for ZMQ/MCP clients: the dataset folder must lie under the
                data dir or the outputs folder, the base is a checkpoint file name, and no
                spec file is read (`train_service.check_remote`).

        Raises:
            InvalidRequest: A refused field, named: no such dataset, a bad spec or step
                count, a taken name without `overwrite`, no base checkpoint, a projected
                time over `max_hours`.
            StoreError: The job database is lost or failing.
        """
        from orchestrator.service.train_service import new_train_job

        self._jobs.check_store_file()
        new = new_train_job(request, self.store, self._catalog, self.training_parts, origin)
        out_dir = str(self.settings.resolved_output_dir.expanduser().absolute())
        (job,) = self.store.create([replace(new, out_dir=out_dir)])
        self.hub.publish(JobEventKind.QUEUED, job.id, job=job)
        self._jobs.queued([job.id])
        return job

    def training_status(self, job_id: str) -> TrainingStatus:
        """A training job with its progress history (loss curve, samples) and, once it
        succeeded, where its LoRA was registered.

        Raises:
            JobNotFound: No such job.
            InvalidRequest: The job is not a training job.
        """
        from orchestrator.service.train_service import training_status

        return training_status(self.store.get(job_id), self.settings.data_dir)

    def lora_cards(self) -> list[RegisteredLora]:
        """Every LoRA in the local `models/loras/`, with its card (trigger words, base
        model, spec, metrics) when it has one."""
        from training.registry import list_loras

        return list_loras(self.settings.resolved_models_dir / "loras")
