"""The paper's 14 audio augmentations (Appendix C.1) at AugLy 1.0's default settings.

`augly[audio]` no longer imports (it needs torchaudio.sox_effects, removed from torchaudio), so each
function of augly.audio.functional is mapped to a maintained library with AugLy's default parameters:

| augmentation          | AugLy default                                  | here                                                |
|-----------------------|------------------------------------------------|-----------------------------------------------------|
| add-background-noise  | white noise at snr_level_db=10                 | audiomentations AddGaussianSNR(10 dB, 10 dB)        |
| change-volume         | volume_db=0.0 (sox vol: identity)              | audiomentations Gain(0 dB, 0 dB): identity          |
| clicks                | clicks every 0.5 s mixed at snr_level_db=1     | librosa.clicks + AugLy's SNR mix (numpy)            |
| clip                  | offset_factor=0.0, duration_factor=1.0         | slice [0, 1.0 x length]: identity                   |
| harmonic              | kernel_size=31, power=2, margin=1              | librosa.effects.harmonic (what AugLy calls)         |
| high-pass-filter      | sox highpass 3000 Hz (2-pole Butterworth)      | audiomentations HighPassFilter 3000 Hz, 12 dB/oct   |
| low-pass-filter       | sox lowpass 500 Hz (2-pole Butterworth)        | audiomentations LowPassFilter 500 Hz, 12 dB/oct     |
| normalize             | librosa.util.normalize(norm=inf)               | librosa.util.normalize(norm=inf) (what AugLy calls) |
| peaking-equalizer     | sox equalizer 500 Hz, q=1, gain -3 dB          | audiomentations PeakingFilter 500 Hz, q 1, -3 dB    |
| percussive            | kernel_size=31, power=2, margin=1              | librosa.effects.percussive (what AugLy calls)       |
| pitch-shift           | n_steps=1.0                                    | librosa.effects.pitch_shift (what AugLy calls)      |
| reverb                | sox reverb 50 50 100 100 0 0                   | the `sox` program, same effect and arguments        |
| speed                 | factor=2.0 (same samples, rate x 2)            | soxr resample 2 x rate -> rate (half as long)       |
| time-stretch          | rate=1.5                                       | librosa.effects.time_stretch (what AugLy calls)     |

change-volume and clip are the identity at AugLy's defaults (so 2 of every 14 clips are plain crops);
speed and time-stretch shorten the crop (to 1 s and 1.33 s of a 2-s crop). Every function takes and
returns float32 mono; randomness (the white noise) comes only from the seed passed in, so a clip is a
pure function of (seed, index).
"""

from __future__ import annotations

import random
import shutil
import subprocess
from typing import Callable

import numpy as np

from ..manifest import DataError

AUGMENTATIONS = ("add_background_noise", "change_volume", "clicks", "clip", "harmonic", "high_pass_filter",
                 "low_pass_filter", "normalize", "peaking_equalizer", "percussive", "pitch_shift", "reverb",
                 "speed", "time_stretch")
SOX = "sox"


class AugmentError(DataError):
    """An augmentation cannot run here (a missing program); the message says which and why."""


def _snr_mix(x: np.ndarray, background: np.ndarray, snr_db: float) -> np.ndarray:
    """AugLy's add_background_noise mix: background scaled to rms(x) / 10^(snr/20), tiled to len(x)."""
    rms = np.sqrt(np.mean(np.square(x, dtype=np.float64)))
    bg_rms = np.sqrt(np.mean(np.square(background, dtype=np.float64)))
    if bg_rms == 0:
        return x
    bg = background * (rms / 10 ** (snr_db / 20) / bg_rms)
    bg = np.resize(bg, x.shape)  # repeats the background like AugLy's concatenation loop
    return (x + bg).astype(np.float32)


def _audiomentations(transform) -> Callable[[np.ndarray, int, int], np.ndarray]:
    def run(x: np.ndarray, sr: int, seed: int) -> np.ndarray:
        random.seed(seed)
        np.random.seed(seed % 2**32)
        return transform(samples=x, sample_rate=sr).astype(np.float32)
    return run


def _sox(*effect: str) -> Callable[[np.ndarray, int, int], np.ndarray]:
    def run(x: np.ndarray, sr: int, seed: int) -> np.ndarray:
        if shutil.which(SOX) is None:
            raise AugmentError(f"the {effect[0]} augmentation needs the `{SOX}` program (Debian package sox)")
        raw = ["-t", "raw", "-e", "floating-point", "-b", "32", "-c", "1", "-r", str(sr), "-L"]
        proc = subprocess.run([SOX, "-q", "-D", *raw, "-", *raw, "-", *effect], input=x.astype("<f4").tobytes(),
                              capture_output=True, timeout=60)
        if proc.returncode != 0:
            raise AugmentError(f"sox {' '.join(effect)} failed: {proc.stderr.decode(errors='replace').strip()}")
        return np.frombuffer(proc.stdout, dtype="<f4").astype(np.float32)
    return run


def _clicks(x: np.ndarray, sr: int, seed: int, seconds_between_clicks: float = 0.5, snr_db: float = 1.0):
    import librosa

    times = np.arange(0, len(x) / sr, seconds_between_clicks)
    return _snr_mix(x, librosa.clicks(times=times, sr=sr).astype(np.float32), snr_db)


def _librosa(name: str, **kwargs) -> Callable[[np.ndarray, int, int], np.ndarray]:
    def run(x: np.ndarray, sr: int, seed: int) -> np.ndarray:
        import librosa

        if name == "normalize":
            return librosa.util.normalize(x, **kwargs).astype(np.float32)
        fn = getattr(librosa.effects, name)
        extra = {"sr": sr} if name == "pitch_shift" else {}
        return fn(x, **extra, **kwargs).astype(np.float32)
    return run


def _speed(x: np.ndarray, sr: int, seed: int, factor: float = 2.0) -> np.ndarray:
    import soxr

    return soxr.resample(x, sr * factor, sr, quality="HQ").astype(np.float32)


def _build() -> dict[str, Callable[[np.ndarray, int, int], np.ndarray]]:
    import audiomentations as A

    return {
        "add_background_noise": _audiomentations(A.AddGaussianSNR(min_snr_db=10.0, max_snr_db=10.0, p=1.0)),
        "change_volume": _audiomentations(A.Gain(min_gain_db=0.0, max_gain_db=0.0, p=1.0)),
        "clicks": _clicks,
        "clip": lambda x, sr, seed: x[int(0.0 * len(x)):int((0.0 + 1.0) * len(x))].copy(),
        "harmonic": _librosa("harmonic", kernel_size=31, power=2.0, margin=1.0),
        "high_pass_filter": _audiomentations(A.HighPassFilter(min_cutoff_freq=3000.0, max_cutoff_freq=3000.0,
                                                              min_rolloff=12, max_rolloff=12, zero_phase=False,
                                                              p=1.0)),
        "low_pass_filter": _audiomentations(A.LowPassFilter(min_cutoff_freq=500.0, max_cutoff_freq=500.0,
                                                            min_rolloff=12, max_rolloff=12, zero_phase=False,
                                                            p=1.0)),
        "normalize": _librosa("normalize", norm=np.inf, axis=0),
        "peaking_equalizer": _audiomentations(A.PeakingFilter(min_center_freq=500.0, max_center_freq=500.0,
                                                              min_gain_db=-3.0, max_gain_db=-3.0, min_q=1.0,
                                                              max_q=1.0, p=1.0)),
        "percussive": _librosa("percussive", kernel_size=31, power=2.0, margin=1.0),
        "pitch_shift": _librosa("pitch_shift", n_steps=1.0),
        "reverb": _sox("reverb", "50", "50", "100", "100", "0", "0"),
        "speed": _speed,
        "time_stretch": _librosa("time_stretch", rate=1.5),
    }


_FUNCS: dict[str, Callable] | None = None


def apply(name: str, x: np.ndarray, sample_rate: int, seed: int) -> np.ndarray:
    """Augmentation `name` of float32 mono `x`; deterministic for `seed`. Non-finite output is refused."""
    global _FUNCS
    if name not in AUGMENTATIONS:
        raise ValueError(f"unknown audio augmentation {name!r}; known: {', '.join(AUGMENTATIONS)}")
    if _FUNCS is None:
        _FUNCS = _build()
    y = _FUNCS[name](np.ascontiguousarray(x, dtype=np.float32), sample_rate, seed)
    if not np.all(np.isfinite(y)):
        raise AugmentError(f"audio augmentation {name} produced non-finite samples")
    return y


def missing_programs(names: tuple[str, ...] = AUGMENTATIONS) -> str:
    """Why some of `names` cannot run here ('' when all can)."""
    if "reverb" in names and shutil.which(SOX) is None:
        return f"the reverb augmentation needs the `{SOX}` program (Debian package sox), which is not installed"
    return ""
