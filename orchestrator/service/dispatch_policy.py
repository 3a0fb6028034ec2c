"""Which backend runs the next job: least loaded, under a per-backend in-flight limit,
sticky to the backend that last ran the same models.

A pure rule over `Candidate`s (no locks, no network); `BackendPool` feeds it the healthy
backends it knows and acts on the answer::

    policy = DispatchPolicy(max_in_flight=2, sticky_slack=1)
    policy.pick([Candidate("http://a", load=1, in_flight=1, last_model="sdxl|pixel")],
                model_key="sdxl|pixel")

Stickiness: a model switch costs an engine seconds (load a checkpoint, patch LoRAs), so a
job whose model key (checkpoint + LoRA set, `model_key`) matches a backend's last one goes
there unless that backend carries more than `sticky_slack` jobs more than the least-loaded
one. Ties go to a backend that last ran the same models, then to one that ran none yet,
then to the order the backends were added, so the rule is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["Candidate", "DispatchPolicy", "model_key"]


@dataclass(frozen=True)
class Candidate:
    """A healthy backend as the policy sees it.

    Attributes:
        url: The backend's URL (what the pick names).
        load: Its queue plus our jobs in flight there (what least-loaded compares).
        in_flight: Jobs this process has sent there and not finished (what the limit caps).
        last_model: Model key of the last job sent there; None before the first.
    """

    url: str
    load: int
    in_flight: int
    last_model: str | None = None


def model_key(model_files: Iterable[str]) -> str:
    """One key for a job's models (checkpoint and LoRA files), whatever their order."""
    return "|".join(sorted(set(model_files)))


@dataclass(frozen=True)
class DispatchPolicy:
    """The dispatch rule's two knobs.

    Attributes:
        max_in_flight: Jobs one backend may have in flight from this process (0: no limit).
        sticky_slack: How much busier than the least-loaded backend a same-model backend
            may be and still get the job (0: only on a tie).
    """

    max_in_flight: int = 2
    sticky_slack: int = 1

    def __post_init__(self) -> None:
        for name in ("max_in_flight", "sticky_slack"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name}={value!r} must be a whole number >= 0")

    def has_room(self, candidate: Candidate) -> bool:
        """Whether `candidate` may take one more job."""
        return not self.max_in_flight or candidate.in_flight < self.max_in_flight

    def pick(self, candidates: Sequence[Candidate], model: str | None = None) -> Candidate | None:
        """The backend for a job with model key `model`; None when every one is at its limit."""
        open_ = [c for c in candidates if self.has_room(c)]
        if not open_:
            return None
        order = {c.url: i for i, c in enumerate(candidates)}

        def rank(c: Candidate) -> tuple[int, int, int]:
            affinity = 0 if model is not None and c.last_model == model else 1
            fresh = 0 if c.last_model is None else 1
            return (c.load, affinity * 2 + fresh, order[c.url])

        least = min(open_, key=rank)
        if model is None:
            return least
        same = [c for c in open_ if c.last_model == model]
        if same:
            sticky = min(same, key=rank)
            if sticky.load <= least.load + self.sticky_slack:
                return sticky
        return least
