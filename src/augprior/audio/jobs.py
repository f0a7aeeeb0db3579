"""Job builders of the audio kinds (pure functions of the resolved params, like augprior.jobs'):

    audio_teacher   results/<scale>/audio_teacher/<dataset>/<arch>_seed<s>_<hash>/{model.pt,metrics.json}
    audio_clips     results/<scale>/audio_clips/<source>/<rate>hz_n<num>_<hash>/{clips.npy,clips.json,source.wav}
    audio_distill   results/<scale>/audio_distill/<dataset>/<teacher>-<student>/<source>/<hash>/seed<s>/...
"""

from __future__ import annotations

from typing import Any

from ..jobs import Job, common, file_md5, slug
from ..provenance import params_hash
from .data import sample_rate
from .sources import parse_clip_source

FULL_DATA = "dataset:"  # source prefix of the full-data row: the target's own training clips


def audio_teacher_job(params: dict[str, Any], dataset: str, seed: int | None = None) -> Job:
    cfg = params["audio"]["teacher"]
    seed = params["seed"] if seed is None else seed
    digest = params_hash({"dataset": dataset, "seed": seed, "audio_teacher": cfg})[:8]
    spec = {**common(params, seed), "dataset": dataset, "audio_teacher": cfg}
    return Job("audio_teacher", f"{slug(dataset)}/{cfg['arch']}_seed{seed}_{digest}", spec)


def audio_clips_job(params: dict[str, Any], source: str, rate: int) -> Job:
    cfg = params["audio"]["clips"]
    identity: dict[str, Any] = {"source": source, "sample_rate": rate, "clips": cfg}
    spec = {"source": source, "sample_rate": rate, "device": params["device"], "clips": cfg}
    if parse_clip_source(source).kind == "file":  # a user's file: its content is part of the job
        identity["source_md5"] = spec["source_md5"] = file_md5(source)
    digest = params_hash(identity)[:8]
    return Job("audio_clips", f"{slug(source)}/{rate}hz_n{cfg['num']}_{digest}", spec, params["scale"])


def audio_distill_job(params: dict[str, Any], dataset: str, source: str, seed: int | None = None) -> Job:
    """Distil the audio teacher of `dataset` from the clip set of `source` (or `dataset:NAME`: full data)."""
    from ..jobs import job_path

    cfg = params["audio"]["distill"]
    seed = params["seed"] if seed is None else seed
    teacher = audio_teacher_job(params, dataset)
    needs: tuple[Job, ...] = (teacher,)
    spec = {**common(params, seed), "dataset": dataset, "source": source, "audio_distill": cfg,
            "teacher_path": job_path(teacher, "model.pt")}
    if not source.startswith(FULL_DATA):
        clips = audio_clips_job(params, source, sample_rate(dataset))
        spec["clips_path"] = job_path(clips)
        needs += (clips,)
    digest = params_hash({"audio_distill": cfg, "teacher": teacher.id, "source": source,
                          "clips": needs[1].id if len(needs) > 1 else None})[:8]
    job_id = (f"{slug(dataset)}/{teacher.spec['audio_teacher']['arch']}-{cfg['student']}/{slug(source)}/"
              f"{digest}/seed{seed}")
    return Job("audio_distill", job_id, spec, needs=needs)
