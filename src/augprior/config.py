"""params.yaml: load, validate against the option models (augprior.options), apply the scale's overrides.

Precedence, lowest first: params.yaml's base values (the paper's), the chosen scale's block, explicit
overrides (values that differ from the committed params.yaml: --configfile, --config, `dvc exp run -S`;
see augprior.overrides).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Mapping

import yaml

from . import options, overrides
from .options import OptionsError

SCHEMA_PATH = Path("workflow/schemas/params.schema.json")  # a link to the packaged, generated copy
_NOT_IN_A_SCALE = ("scale", "scales")


class ParamsError(OptionsError):
    """params.yaml (or an override) is invalid; the one-line message names the key, value, expectation."""


def schema() -> dict[str, Any]:
    """The JSON Schema of params.yaml (generated from augprior.options.Params)."""
    return options.json_schema()


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` merged into a copy of `base`: mappings key by key, anything else replaced."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _check(model: type, data: Mapping[str, Any], where: str = "") -> Any:
    """Validate; errors are named `where`.key (a scale's: the base passed, so the scale's overrides caused them)."""
    try:
        return options.validate(model, data)
    except OptionsError as err:
        lines = str(err).split("; ")
        raise ParamsError("; ".join(f"{where}.{line}" if where else line for line in lines)) from None


def _settings(raw: Mapping[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(scale, scales, base settings) of a raw params mapping, their shapes checked."""
    if not isinstance(raw, Mapping):
        raise ParamsError(f"params = {raw!r}: expected a mapping")
    scales = raw.get("scales", options.Params.model_fields["scales"].default)
    if not isinstance(scales, Mapping):
        raise ParamsError(f"scales = {scales!r}: expected a mapping of scale name -> partial settings")
    for name, block in scales.items():
        if block is not None and not isinstance(block, Mapping):
            raise ParamsError(f"scales.{name} = {block!r}: expected a mapping of partial settings or null")
        for key in _NOT_IN_A_SCALE:
            if key in (block or {}):
                raise ParamsError(f"scales.{name}.{key}: not allowed in a scale block")
    base = {k: v for k, v in raw.items() if k not in _NOT_IN_A_SCALE}
    return raw.get("scale", options.Params.model_fields["scale"].default), dict(scales), base


def validate(raw: Mapping[str, Any]) -> None:
    """Check raw params: the base values, and every scale's overrides merged over them."""
    _resolve_all(raw)


def _resolve_all(raw: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    model = options.params_model()
    scale, scales, base = _settings(raw)
    _check(model, raw)
    resolved = {}
    for name, block in scales.items():
        merged = deep_merge(base, block or {})
        settings = _check(model, {**merged, "scale": name, "scales": {}}, f"scales.{name}")
        resolved[name] = {k: v for k, v in settings.model_dump().items() if k not in _NOT_IN_A_SCALE}
    return resolved


def resolve(raw: Mapping[str, Any], explicit: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Validate the raw params and return the settings of its `scale`, overrides merged, defaults filled.

    `explicit` (nested, see augprior.overrides) holds the values the user set explicitly: they beat the
    scale block.
    """
    resolved = _resolve_all(raw)
    scale = _settings(raw)[0]
    if scale not in resolved:
        raise ParamsError(f"scale {scale!r} is not declared under scales: (have {', '.join(resolved)})")
    explicit = {k: v for k, v in (explicit or {}).items() if k not in _NOT_IN_A_SCALE}
    if not explicit:
        return {**resolved[scale], "scale": scale}
    settings = _check(options.params_model(), {**deep_merge(resolved[scale], explicit), "scale": scale,
                                               "scales": {}})
    return {**{k: v for k, v in settings.model_dump().items() if k not in _NOT_IN_A_SCALE}, "scale": scale}


def load(path: str | Path = "params.yaml", dotted_overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Load params.yaml, apply dotted-key overrides (e.g. {"scale": "ci", "distill.epochs": 5}) and resolve;
    the overrides, and edits of params.yaml not yet committed, beat the scale block."""
    path = Path(path)
    if not path.exists():
        raise ParamsError(f"{path}: no such params file")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ParamsError(f"{path}: not valid YAML ({' '.join(str(err).split())})") from err
    explicit = overrides.explicit(raw, overrides.reference_params(path))
    for dotted, value in (dotted_overrides or {}).items():
        set_dotted(raw, dotted, value)
        set_dotted(explicit, dotted, value)
    return resolve(raw, explicit)


def set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = tree
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
