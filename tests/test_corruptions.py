"""The six corruptions added for the full 15 (glass, motion, snow, frost, fog, elastic) and the 224-px (ImageNet-C)
constants: each changes the image, is reproducible for a seed, stays uint8 and grows with severity; the
deterministic parts agree with `imagecorruptions` 1.1.2 / OpenCV (tests/oracle: outputs made by
make_imagecorruptions_oracle.py in a separate venv)."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from augprior import corruptions as C

pytestmark = pytest.mark.usefixtures("one_thread")
ORACLE = np.load(Path(__file__).parent / "oracle" / "imagecorruptions_oracle.npz")
NEW = ["glass", "motion", "snow", "frost", "fog", "elastic"]


def _natural(side: int, n: int = 4) -> np.ndarray:
    srcs = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]
    return np.stack([np.asarray(Image.fromarray(s).resize((side, side), Image.BILINEAR)) for s in srcs[:n]])


@pytest.fixture(scope="module")
def small():
    return _natural(32)


def test_all_fifteen_benchmark_corruptions_in_order():
    assert list(C.CORRUPTIONS) == ["gaussian", "shot", "impulse", "defocus", "glass", "motion", "zoom", "snow",
                                   "frost", "fog", "brightness", "contrast", "elastic", "pixelate", "jpeg"]
    assert not C.NOT_IMPLEMENTED
    assert all(len(v) == 5 for lv in C.LEVELS.values() for v in lv.values())


@pytest.mark.parametrize("name", NEW)
def test_new_corruptions_change_reproducibly_and_grow(small, name):
    dist = []
    for s in range(1, 6):
        out = C.corrupt(name, small, s, seed=1)
        assert out.dtype == np.uint8 and out.shape == small.shape
        np.testing.assert_array_equal(out, C.corrupt(name, small, s, seed=1))
        assert not np.array_equal(out, C.corrupt(name, small, s, seed=2))  # the seed matters
        dist.append(np.abs(out.astype(float) - small).mean())
    assert min(dist) > 0.5, dist
    if name in ("glass", "motion", "snow", "fog"):
        assert all(b >= 0.9 * a for a, b in zip(dist, dist[1:])) and dist[-1] > 1.3 * dist[0], dist


def test_frost_blends_a_crop_of_the_benchmarks_frames_more_with_severity():
    """Over black images the output is c[1] x a frost crop: its mean grows with c[1] (0.2 ... 0.45 at 32 px)."""
    black = np.zeros((64, 32, 32, 3), np.uint8)
    means = [C.corrupt("frost", black, s).mean() for s in range(1, 6)]
    c1 = np.array([c[1] for c in C.LEVELS["frost"]["cifar"]])
    ratio = np.array(means) / c1  # the mean of the crops: about equal across severities
    assert np.all(np.abs(ratio / ratio.mean() - 1) < 0.15), ratio
    white = np.full((2, 32, 32, 3), 200, np.uint8)  # c[0] x 200 + c[1] x crop >= c[0] x 200
    out = C.corrupt("frost", white, 5).astype(float)
    assert out.min() >= round(0.75 * 200) - 1 and out.mean() > 0.75 * 200 + 10


def test_elastic_moves_pixels_without_changing_values():
    flat = np.full((3, 32, 32, 3), 77, np.uint8)  # a warp of a constant image is that image
    for s in range(1, 6):
        np.testing.assert_array_equal(C.corrupt("elastic", flat, s), flat)


def test_glass_blur_copies_as_the_released_benchmark_does():
    """The reference's `x[h, w], x[h', w'] = x[h', w'], x[h, w]` on numpy views copies, it does not swap."""
    x = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    x[0, 0], x[1, 1] = x[1, 1], x[0, 0]
    np.testing.assert_array_equal(x[0, 0], x[1, 1])


def test_224_px_images_use_imagenet_c_constants_and_other_sides_need_a_preset():
    big = _natural(224, 2)
    g = C.corrupt("gaussian", np.full((2, 224, 224, 3), 128, np.uint8), 1).astype(float)
    assert abs(g.std() / 255 - 0.08) < 0.003  # ImageNet-C severity 1 (CIFAR-10-C's is 0.04)
    for name in C.CORRUPTIONS:  # every corruption runs at 224 px and changes the images
        out = C.corrupt(name, big, 3)
        assert out.shape == big.shape and out.dtype == np.uint8 and (out != big).mean() > 0.05, name
    with pytest.raises(ValueError, match="pass preset"):
        C.corrupt("fog", np.zeros((1, 64, 64, 3), np.uint8), 1)
    assert C.corrupt("fog", np.zeros((1, 64, 64, 3), np.uint8), 1, preset="imagenet").shape == (1, 64, 64, 3)


def test_deterministic_parts_agree_with_imagecorruptions_and_opencv():
    x = ORACLE["x"]
    for s in range(1, 6):  # defocus (ImageNet-C constants): the oracle truncates to uint8, ours rounds
        ours = C.corrupt("defocus", x[None], s, preset="imagenet")[0].astype(int)
        assert np.abs(ours - ORACLE["defocus"][s - 1]).max() <= 1
    for i, (r, a) in enumerate(C.LEVELS["defocus"]["imagenet"]):  # the disk kernels (cv2.GaussianBlur)
        k = C._disk(r, a)
        np.testing.assert_allclose(np.pad(k, 2) if r <= 8 else k, ORACLE["disks"][i], atol=1e-7)
    for i, ((r, g), a) in enumerate(zip(C.LEVELS["motion"]["imagenet"], ORACLE["motion_angles"])):
        ours = np.round(np.clip(C._motion_blur(x[None].astype(float), r, g, np.array([a])), 0, 255))[0]
        assert np.abs(ours - ORACLE["motion"][i]).max() <= 1  # imagecorruptions' line kernel
    warped = C._warp_affine(np.repeat(x[None], 3, 0) / 255.0, ORACLE["pts1"].astype(float),
                            ORACLE["pts2"].astype(float))
    assert np.abs(np.round(warped * 255) - ORACLE["warp"]).max() <= 1  # cv2.warpAffine, BORDER_REFLECT_101
    frames = C._frost_frames(0.2)  # make_cifar_c.py: cv2.resize(frost, fx=fy=0.2)
    for i, name in ((1, "frost2"), (3, "frost4")):
        assert np.abs(frames[i].astype(int) - ORACLE[f"frost_cifar_{name}"]).max() <= 1

