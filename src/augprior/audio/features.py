"""Log-Mel spectrograms on the device (paper Appendix C.2): 25 ms Hann window, 10 ms hop, 64 Mel bins,
computed per batch with torch.stft; the Mel filterbank is librosa's (Slaney), built once per rate."""

from __future__ import annotations

import torch

WINDOW_S, HOP_S, MELS = 0.025, 0.010, 64


class LogMel(torch.nn.Module):
    """(B, samples) float waveforms -> (B, 1, mels, frames) log(Mel power + 1e-6)."""

    def __init__(self, sample_rate: int, mels: int = MELS, window_s: float = WINDOW_S, hop_s: float = HOP_S):
        super().__init__()
        import librosa

        self.win = int(round(window_s * sample_rate))
        self.hop = int(round(hop_s * sample_rate))
        self.n_fft = max(512, 1 << (self.win - 1).bit_length())
        fb = librosa.filters.mel(sr=sample_rate, n_fft=self.n_fft, n_mels=mels, fmin=0.0, fmax=sample_rate / 2)
        self.register_buffer("fbank", torch.from_numpy(fb).float(), persistent=False)
        self.register_buffer("window", torch.hann_window(self.win), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(x.float(), self.n_fft, self.hop, self.win, self.window, center=True, return_complex=True)
        mel = self.fbank @ spec.abs().square()
        return torch.log(mel + 1e-6).unsqueeze(1).contiguous(memory_format=torch.channels_last)


def random_crops(batch: torch.Tensor, lengths: torch.Tensor, crop: int, gen: torch.Generator) -> torch.Tensor:
    """One random `crop`-sample window of each row within its valid length (zero-padded when shorter)."""
    b, n = batch.shape
    if n < crop:
        batch = torch.nn.functional.pad(batch, (0, crop - n))
    room = (lengths.clamp(max=max(n, crop)) - crop).clamp(min=0)
    offsets = (torch.rand(b, generator=gen) * (room + 1).float()).long().clamp(max=max(n, crop) - crop)
    idx = offsets[:, None].to(batch.device) + torch.arange(crop, device=batch.device)[None]
    return batch.gather(1, idx)


def segments(wave: torch.Tensor, seg: int) -> torch.Tensor:
    """Non-overlapping `seg`-sample segments of a 1-d waveform; the last partial one zero-padded (a clip
    shorter than one segment is one padded segment)."""
    k = max(1, -(-len(wave) // seg))
    return torch.nn.functional.pad(wave, (0, k * seg - len(wave))).view(k, seg)
