"""params.yaml: load, validate against the JSON Schema, apply the scale's overrides."""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import yaml
from jsonschema import Draft202012Validator

SCHEMA_PATH = Path("workflow/schemas/params.schema.json")


class ParamsError(ValueError):
    """params.yaml (or an override) is invalid; the message names the key."""


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    if SCHEMA_PATH.exists():  # the workflow's copy, when run from the repository
        return json.loads(SCHEMA_PATH.read_text())
    return json.loads(resources.files("augprior").joinpath("resources/params.schema.json").read_text())


def validate(raw: Mapping[str, Any]) -> None:
    validator = Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(raw), key=lambda e: list(e.absolute_path))
    # a nested error makes JSON Schema also call every sibling key "unevaluated": drop that echo
    if any(e.validator != "unevaluatedProperties" for e in errors):
        errors = [e for e in errors if e.validator != "unevaluatedProperties"]
    if errors:
        lines = [f"  {'.'.join(map(str, e.absolute_path)) or '<top>'}: {e.message}" for e in errors[:10]]
        raise ParamsError("invalid params:\n" + "\n".join(lines))


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def resolve(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the raw params and return the settings of its `scale`, overrides merged."""
    validate(raw)
    scale = raw["scale"]
    if scale not in raw["scales"]:
        raise ParamsError(f"scale {scale!r} is not declared under scales: (have {', '.join(raw['scales'])})")
    settings = {k: v for k, v in raw.items() if k not in ("scale", "scales")}
    resolved = deep_merge(settings, raw["scales"][scale] or {})
    resolved["scale"] = scale
    validate({**resolved, "scales": {}})
    return resolved


def load(path: str | Path = "params.yaml", overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Load params.yaml, apply dotted-key `overrides` (e.g. {"scale": "ci"}) and resolve."""
    path = Path(path)
    if not path.exists():
        raise ParamsError(f"{path}: no such params file")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ParamsError(f"{path}: not valid YAML ({err})") from err
    for dotted, value in (overrides or {}).items():
        set_dotted(raw, dotted, value)
    return resolve(raw)


def set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = tree
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
