"""The single audio clip a student is distilled from.

The paper's two 5-minute YouTube clips (A: an English BBC news clip; B: a clip about 11 Germanic
languages) are not available offline; these labelled stand-ins are made here instead:

  speech_en         English speech synthesised with espeak-ng (voice en-us) from resources/audio/english.txt,
                    its sentences in a seeded order, each at a seeded speed and pitch, until `seconds`
                    (stand-in for clip A; espeak-ng output is byte-identical on a rerun)
  speech_germanic   the same from resources/audio/germanic.txt in the Germanic-language voices espeak-ng
                    has (English, German, Dutch, Afrikaans, Luxembourgish, Swedish, Danish, Norwegian,
                    Icelandic; stand-in for clip B)
  music:NAME        a real music recording of Debian's asc-music package (GPL):
                    /usr/share/games/asc/music/NAME.mp3 (frontiers, machine_wars, time_to_strike)
  /path/to/clip     a user's clip (wav, flac, ogg or mp3), like a user's image for the image experiments
"""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from ..manifest import DataError
from .data import AUDIO_EXTENSIONS, read_audio, resample

ESPEAK = "espeak-ng"
ASC_MUSIC = Path("/usr/share/games/asc/music")
SYNTH_RATE = 22050  # espeak-ng's output rate
STAND_INS = {
    "speech_en": "English speech synthesised with espeak-ng (stand-in for the paper's clip A, a BBC news clip)",
    "speech_germanic": ("speech in 9 Germanic languages synthesised with espeak-ng (stand-in for the paper's "
                        "clip B, a clip about 11 Germanic languages)"),
    "music": "a real music recording (Debian asc-music, GPL; not in the paper)",
}


@dataclass(frozen=True)
class ClipSource:
    name: str
    kind: str          # speech_en | speech_germanic | music | file
    path: Path | None  # the file behind music:/file sources
    description: str


def parse_clip_source(name: str) -> ClipSource:
    if name in ("speech_en", "speech_germanic"):
        return ClipSource(name, name, None, STAND_INS[name])
    if name.startswith("music:"):
        track = name.split(":", 1)[1]
        return ClipSource(name, "music", ASC_MUSIC / f"{track}.mp3", f"{STAND_INS['music']}: {track}.mp3")
    path = Path(name).expanduser()
    if path.suffix.lower() in AUDIO_EXTENSIONS:
        return ClipSource(name, "file", path, f"user clip {path.name}")
    raise DataError(f"unknown audio clip source {name!r}: speech_en, speech_germanic, music:NAME or a "
                    f"{'/'.join(AUDIO_EXTENSIONS)} file")


def unavailable(name: str) -> str:
    """Why source `name` cannot be made on this machine ('' when it can): a one-line reason."""
    src = parse_clip_source(name)
    if src.kind in ("speech_en", "speech_germanic") and shutil.which(ESPEAK) is None:
        return f"{ESPEAK} is not installed (Debian package espeak-ng), so the {name} clip cannot be synthesised"
    if src.kind == "music" and not src.path.is_file():
        return f"{src.path} is missing (Debian package asc-music)"
    if src.kind == "file" and not src.path.is_file():
        return f"audio clip {src.path} does not exist"
    return ""


def _sentences(resource: str) -> list[tuple[str, str]]:
    text = resources.files("augprior").joinpath(f"resources/audio/{resource}").read_text(encoding="utf-8")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            voice, _, sentence = line.rpartition("|")
            out.append((voice or "en-us", sentence))
    return out


def espeak(text: str, voice: str, speed: int = 160, pitch: int = 50) -> np.ndarray:
    """float32 mono at SYNTH_RATE."""
    if shutil.which(ESPEAK) is None:
        raise DataError(f"{ESPEAK} is not installed (Debian package espeak-ng)")
    proc = subprocess.run([ESPEAK, "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
                          capture_output=True, timeout=120)
    if proc.returncode != 0 or not proc.stdout:
        raise DataError(f"{ESPEAK} -v {voice} failed: {proc.stderr.decode(errors='replace').strip()}")
    x, rate = read_audio(io.BytesIO(proc.stdout))
    return resample(x, rate, SYNTH_RATE)


def synthesize(kind: str, seconds: float, seed: int = 0) -> np.ndarray:
    """`seconds` of speech from the sentences of `kind` in a seeded order, each at a seeded speed
    (140-180 words/min) and pitch (35-65), with 0.3 s pauses; float32 at SYNTH_RATE."""
    sentences = _sentences("english.txt" if kind == "speech_en" else "germanic.txt")
    rng = np.random.default_rng(seed)
    pause = np.zeros(int(0.3 * SYNTH_RATE), np.float32)
    parts, total = [], 0
    while total < seconds * SYNTH_RATE:
        for i in rng.permutation(len(sentences)):
            voice, text = sentences[i]
            x = espeak(text, voice, int(rng.integers(140, 181)), int(rng.integers(35, 66)))
            parts += [x, pause]
            total += len(x) + len(pause)
            if total >= seconds * SYNTH_RATE:
                break
    return np.concatenate(parts)[: int(seconds * SYNTH_RATE)]


def load_clip(name: str, sample_rate: int, seconds: float = 300.0, seed: int = 0) -> np.ndarray:
    """The source clip `name` as float32 mono at `sample_rate` (synthesised stand-ins: `seconds` long)."""
    src = parse_clip_source(name)
    if reason := unavailable(name):
        raise DataError(reason)
    if src.kind in ("speech_en", "speech_germanic"):
        return resample(synthesize(src.kind, seconds, seed), SYNTH_RATE, sample_rate)
    return read_audio(src.path, sample_rate)[0]
