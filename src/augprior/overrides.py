"""Which settings a user set explicitly: they beat the scale block.

Precedence, lowest first:
  1. the base values of params.yaml (the paper's settings);
  2. the block of the chosen scale under `scales:`;
  3. explicit overrides: every value that differs from the committed params.yaml (git HEAD).
That is a value from `snakemake --configfile params.yaml extra.yaml`, from `snakemake --config key=value`,
from `dvc exp run -S key=value` (DVC writes it into params.yaml before the stage runs), or from an
uncommitted edit of params.yaml. Outside a git checkout the reference is params.yaml as it is on disk,
so only --configfile / --config values count as explicit there.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

# keys that select or define scales rather than set a value
NOT_OVERRIDES = ("scale", "scales")


def committed_params(path: str | Path = "params.yaml") -> dict[str, Any] | None:
    """params.yaml as committed at git HEAD, or None outside a git checkout (or if it is not committed)."""
    path = Path(path).resolve()
    try:
        out = subprocess.run(["git", "show", f"HEAD:./{path.name}"], cwd=path.parent, capture_output=True,
                             text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    try:
        return yaml.safe_load(out.stdout) or {}
    except yaml.YAMLError:
        return None


def reference_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """What counts as "not overridden": the committed params.yaml, else the file on disk."""
    committed = committed_params(path)
    if committed is not None:
        return committed
    path = Path(path)
    return (yaml.safe_load(path.read_text()) or {}) if path.exists() else {}


def from_snakemake(params_path: str | Path, configfiles: Iterable[str | Path],
                   cli_config: Mapping[str, Any]) -> dict[str, Any]:
    """Explicit values of a Snakemake run: uncommitted edits of params.yaml (what `dvc exp run -S` makes),
    then every --configfile other than params.yaml, then --config (each beating the one before)."""
    from .config import deep_merge  # config imports this module

    params_path = Path(params_path).resolve()
    on_disk = yaml.safe_load(params_path.read_text()) or {}
    out = explicit(on_disk, reference_params(params_path))
    for path in configfiles:
        if Path(path).resolve() != params_path:
            out = deep_merge(out, yaml.safe_load(Path(path).read_text()) or {})
    return deep_merge(out, dict(cli_config))


def explicit(config: Mapping[str, Any], reference: Mapping[str, Any], *, top: bool = True) -> dict[str, Any]:
    """The nested values of `config` that differ from `reference` (lists and scalars compare whole)."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if top and key in NOT_OVERRIDES:
            continue
        ref = reference.get(key, _MISSING)
        if isinstance(value, Mapping) and isinstance(ref, Mapping):
            if sub := explicit(value, ref, top=False):
                out[key] = sub
        elif value != ref:
            out[key] = value
    return out


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()
