"""Single-clip audio distillation (paper Section 4 "Extension to audio", Table 5, Fig. 10; Appendix C.1-C.3).

- `data`: labelled audio datasets (FSDD from the manifest; Speech Commands, MUSAN, Voxforge and LibriSpeech
  speakers from their extracted official layouts), waveforms as float32 at the dataset's sample rate.
- `sources`: the single clip: a user's wav/flac/ogg/mp3, or the labelled offline stand-ins (espeak-ng
  English / Germanic-language speech, a real asc-music recording).
- `augment`: the paper's 14 AugLy augmentations at AugLy's defaults, mapped to maintained libraries.
- `clipset`: the clip set (N random 2-s crops, one augmentation each), stored like a patch set.
- `features`, `model`: log-Mel spectrograms on the device and the paper's audio CNN (`audio_cnn`).
- `train`: the teacher (supervised) and the distillation (KD + MixUp on the clip set) in the project's
  resumable-run skeleton; evaluation averages over the non-overlapping 1-s segments of each test clip.
- `jobs`: the job builders of the three job kinds (audio_teacher, audio_clips, audio_distill).
"""
