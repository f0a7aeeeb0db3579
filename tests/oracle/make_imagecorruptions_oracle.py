"""Writes imagecorruptions_oracle.npz: outputs of `imagecorruptions` 1.1.2 (bethgelab) and OpenCV for the
deterministic parts of the corruptions (tests/test_corruptions.py compares augprior.corruptions with them).
Run it in a separate venv that has `imagecorruptions` (it brings opencv-python, which this project does not use):
    python -m venv /tmp/icvenv && /tmp/icvenv/bin/pip install imagecorruptions==1.1.2 "setuptools<70"
    /tmp/icvenv/bin/python tests/oracle/make_imagecorruptions_oracle.py
"""

from pathlib import Path

import cv2
import numpy as np
from imagecorruptions import corruptions as ic  # ImageNet-C's constants
from PIL import Image
from skimage import data

out = {}
x = np.asarray(Image.fromarray(data.astronaut()).resize((64, 64), Image.BILINEAR))
out["x"] = x
out["defocus"] = np.stack([np.uint8(ic.defocus_blur(x, s)) for s in range(1, 6)])
out["disks"] = np.stack([np.pad(ic.disk(r, a), 2) if r <= 8 else ic.disk(r, a)
                         for r, a in [(3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)]])
angles = np.array([-40.0, -10.0, 0.0, 25.0, 44.0])
out["motion_angles"] = angles
out["motion"] = np.stack([np.uint8(np.round(np.clip(ic._motion_blur(x, radius=r, sigma=g, angle=a), 0, 255)))
                          for (r, g), a in zip([(10, 3), (15, 5), (15, 8), (15, 12), (20, 15)], angles)])  # rounded to uint8
f = (x / 255.0).astype(np.float32)
pts1 = np.float32([[53, 53], [53, 11], [11, 11]])  # the reference's points for a 64-px image
rng = np.random.default_rng(0)
pts2 = np.stack([pts1 + rng.uniform(-6, 6, size=(3, 2)).astype(np.float32) for _ in range(3)])
out["pts1"], out["pts2"] = pts1, pts2
out["warp"] = np.stack([np.uint8(np.round(255 * cv2.warpAffine(f, cv2.getAffineTransform(pts1, p), (64, 64),
                                                                borderMode=cv2.BORDER_REFLECT_101))) for p in pts2])
frost_dir = Path(ic.__file__).parent / "frost"
for name in ("frost2.png", "frost4.jpg"):  # make_cifar_c.py: cv2.resize(frost, (0, 0), fx=0.2, fy=0.2), RGB
    out[f"frost_cifar_{name.split('.')[0]}"] = cv2.resize(cv2.imread(str(frost_dir / name)), (0, 0),
                                                          fx=0.2, fy=0.2)[..., ::-1]
np.savez_compressed(Path(__file__).with_name("imagecorruptions_oracle.npz"), **out)
