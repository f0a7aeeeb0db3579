import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision.transforms.v2.functional as TF

from augprior import augment


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def batch():
    return torch.rand(16, 3, 12, 12, generator=gen(1))


def test_hflip_flips_about_half_per_sample(batch):
    out = augment.random_hflip(batch, gen())
    flipped = [bool(torch.equal(o, b.flip(2))) for o, b in zip(out, batch)]
    same = [bool(torch.equal(o, b)) for o, b in zip(out, batch)]
    assert all(f or s for f, s in zip(flipped, same))
    assert 0 < sum(flipped) < len(batch)


def test_random_crop_is_a_shifted_window_of_the_zero_padded_image(batch):
    out = augment.random_crop(batch, gen(), pad=4)
    padded = F.pad(batch, (4, 4, 4, 4))
    for o, p in zip(out, padded):
        hits = [(dy, dx) for dy in range(9) for dx in range(9) if torch.equal(o, p[:, dy:dy + 12, dx:dx + 12])]
        assert hits


def test_mixup_blends_with_reversed_batch(batch):
    out, lam = augment.mixup(batch, gen(), alpha=1.0)
    assert 0.0 <= lam <= 1.0
    assert torch.allclose(out, lam * batch + (1 - lam) * batch.flip(0))


def test_mixup_lambda_follows_beta_alpha():
    lams = np.array([augment.mixup(torch.zeros(2, 1, 1, 1), gen(i), alpha=1.0)[1] for i in range(400)])
    assert abs(lams.mean() - 0.5) < 0.05 and abs(lams.var() - 1 / 12) < 0.02  # U(0, 1)
    lams = np.array([augment.mixup(torch.zeros(2, 1, 1, 1), gen(i), alpha=0.2)[1] for i in range(400)])
    assert ((lams < 0.1) | (lams > 0.9)).mean() > 0.5  # Beta(0.2, 0.2) is U-shaped


def test_cutmix_pastes_one_box_from_reversed_batch_and_reports_kept_fraction(batch):
    out, lam = augment.cutmix_lam(batch, gen(3), beta=1.0)
    changed = (out != batch).any(1)  # (B, H, W)
    box = torch.zeros(12, 12, dtype=torch.bool)
    src = batch.flip(0)
    pasted = (out == src).all(1) & ~(out == batch).all(1)
    assert pasted.any()
    ys, xs = torch.nonzero(pasted.any(0), as_tuple=True)
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    box[y0:y1, x0:x1] = True
    assert torch.equal(out[:, :, box], src[:, :, box])       # the same box for every image
    assert torch.equal(out[:, :, ~box], batch[:, :, ~box])   # the rest untouched
    assert math.isclose(lam, 1 - box.sum().item() / 144, abs_tol=1e-9)
    assert not changed[:, ~box].any()
    assert torch.equal(augment.cutmix(batch, gen(3), 1.0), out)


def test_cutmix_box_area_matches_lambda_on_average():
    kept = []
    for i in range(300):
        x = torch.zeros(2, 1, 32, 32)
        g = gen(i)
        out, k = augment.cutmix_lam(x, g, beta=0.25)
        kept.append(k)
    kept = np.array(kept)
    assert 0 <= kept.min() and kept.max() <= 1
    assert 0.4 < kept.mean() < 0.8  # Beta(0.25, 0.25) mean 0.5, the clipped boxes keep more


def test_rrc_params_match_torchvision_rules():
    top, left, h, w = augment.rrc_params(2000, 40, 60, gen(), scale=(0.08, 1.0), ratio=(0.75, 4 / 3))
    assert ((top >= 0) & (left >= 0) & (top + h <= 40) & (left + w <= 60)).all()
    frac = (h * w).double() / (40 * 60)
    assert frac.min() >= 0.06 and frac.max() <= 1.0
    aspect = w.double() / h.double()
    assert (aspect > 0.6).all() and (aspect < 1.6).all()
    # the same distribution as torchvision's sampler (one image at a time)
    from torchvision.transforms import RandomResizedCrop

    torch.manual_seed(0)
    ref = torch.tensor([math.prod(RandomResizedCrop.get_params(torch.zeros(3, 40, 60), (0.08, 1.0),
                                                               (0.75, 4 / 3))[2:]) for _ in range(2000)]) / 2400.0
    q = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)
    assert abs(frac.mean() - ref.double().mean()) < 0.02
    assert torch.allclose(torch.quantile(frac, q), torch.quantile(ref.double(), q), atol=0.03)


def test_rrc_fallback_is_the_central_crop_when_nothing_fits():
    # scale > 1 never fits: every image falls back to the full image (aspect within range)
    top, left, h, w = augment.rrc_params(5, 30, 30, gen(), scale=(2.0, 3.0))
    assert (h == 30).all() and (w == 30).all() and (top == 0).all() and (left == 0).all()
    top, left, h, w = augment.rrc_params(3, 10, 40, gen(), scale=(2.0, 3.0))  # too wide: clamp aspect to 4/3
    assert (h == 10).all() and (w == 13).all() and (left == (40 - 13) // 2).all()


def test_resized_crop_of_the_whole_image_is_bicubic_resize(batch):
    b = len(batch)
    full = [torch.zeros(b, dtype=torch.long), torch.zeros(b, dtype=torch.long),
            torch.full((b,), 12), torch.full((b,), 12)]
    out = augment.resized_crop(batch, *full, size=20, clamp=False)
    ref = F.interpolate(batch, size=(20, 20), mode="bicubic", align_corners=False)
    assert torch.allclose(out, ref, atol=1e-4)
    # a sub-box: nearest-exact crop when the size matches the box
    box = [torch.full((b,), 2), torch.full((b,), 3), torch.full((b,), 6), torch.full((b,), 6)]
    out = augment.resized_crop(batch, *box, size=6, mode="nearest")
    assert torch.equal(out, batch[:, :, 2:8, 3:9])


def test_random_resized_crop_shape_and_range():
    x = torch.rand(8, 3, 64, 64, generator=gen())
    out = augment.random_resized_crop(x, gen(), size=48)
    assert out.shape == (8, 3, 48, 48)
    assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("name", ["brightness", "contrast", "saturation", "hue"])
def test_per_sample_color_ops_match_torchvision(name):
    x = torch.rand(5, 3, 9, 9, generator=gen(2))
    factors = torch.tensor([0.6, 0.9, 1.0, 1.2, 1.4]) if name != "hue" else torch.tensor([-0.4, -0.1, 0.0, 0.2, 0.4])
    ours = getattr(augment, f"adjust_{name}")(x, factors)
    ref_fn = getattr(TF, f"adjust_{name}")
    for i in range(5):
        ref = ref_fn(x[i], float(factors[i]))
        assert torch.allclose(ours[i], ref, atol=2e-5), name


def test_hsv_roundtrip():
    x = torch.rand(4, 3, 8, 8, generator=gen(5))
    assert torch.allclose(augment.hsv_to_rgb(augment.rgb_to_hsv(x)), x, atol=1e-5)


def test_color_jitter_applies_with_probability_p():
    x = torch.rand(400, 3, 4, 4, generator=gen(6))
    out = augment.color_jitter(x, gen(7), 0.4, 0.4, 0.4, 0.4, p=0.8)
    changed = (out - x).abs().flatten(1).amax(1) > 1e-6
    assert 0.72 < changed.float().mean() < 0.88
    assert out.min() >= 0 and out.max() <= 1
    assert torch.equal(augment.color_jitter(x, gen(7), 0.4, 0.4, 0.4, 0.4, p=0.0), x)


def test_color_jitter_single_operation_equals_torchvision_with_drawn_factor():
    # brightness only: each image is scaled by one factor in [0.6, 1.4] (or untouched)
    x = torch.rand(32, 3, 6, 6, generator=gen(8)) * 0.5
    out = augment.color_jitter(x, gen(9), brightness=0.4, contrast=0, saturation=0, hue=0, p=1.0)
    ratio = out / x
    f = ratio.flatten(1).median(1).values
    assert torch.allclose(out, x * f.view(-1, 1, 1, 1), atol=1e-5)
    assert (f >= 0.6 - 1e-5).all() and (f <= 1.4 + 1e-5).all() and f.std() > 0.1


def test_grayscale_and_solarize():
    x = torch.rand(200, 3, 5, 5, generator=gen(10))
    g = augment.random_grayscale(x, gen(11), p=0.2)
    gray = (g[:, 0] == g[:, 1]).all(-1).all(-1) & (g[:, 1] == g[:, 2]).all(-1).all(-1)
    assert 0.1 < gray.float().mean() < 0.3
    luma = 0.2989 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    assert torch.allclose(g[gray][:, 0], luma[gray], atol=1e-6)
    s = augment.random_solarize(x, gen(12), p=0.2)
    sol = (s != x).flatten(1).any(1)
    assert 0.1 < sol.float().mean() < 0.3
    expect = torch.where(x >= 128 / 255, 1 - x, x)
    assert torch.equal(s[sol], expect[sol])
    # PIL's solarize on uint8 (threshold 128) gives the same result
    u8 = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16).expand(1, 3, 16, 16)
    ours = augment.random_solarize(u8.float() / 255, gen(), p=1.0)
    assert torch.equal((ours * 255).round().to(torch.uint8), TF.solarize(u8, 128))


def test_one_channel_images_pass_colour_ops():
    x = torch.rand(6, 1, 5, 5, generator=gen())
    assert augment.color_jitter(x, gen(), p=1.0).shape == x.shape
    assert torch.equal(augment.random_grayscale(x, gen(), p=1.0), x)


def test_augment_batch_pipeline_is_reproducible_and_normalised():
    x = torch.rand(8, 3, 32, 32, generator=gen())
    aug = augment.resolve_augment({"mixup": True})
    a, lams_a = augment.augment_batch(x, aug, gen(4), (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    b, lams_b = augment.augment_batch(x, aug, gen(4), (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    assert torch.equal(a, b) and lams_a == lams_b and len(lams_a) == 2
    off = augment.resolve_augment({"hflip": False, "random_crop": False, "cutmix": False})
    plain, lams = augment.augment_batch(x, off, gen(4), (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    assert lams == [] and torch.allclose(plain, (x - 0.5) / 0.25)
    inet = augment.resolve_augment({**augment.IMAGENET_AUGMENT, "rrc_size": 24})
    out, lams = augment.augment_batch(x.contiguous(memory_format=torch.channels_last), inet, gen(), (0.5,) * 3,
                                      (0.25,) * 3)
    assert out.shape == (8, 3, 24, 24) and len(lams) == 1
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert augment.output_size(inet, 32) == 24 and augment.output_size(off, 32) == 32


def test_resolve_augment_rejects_bad_options():
    with pytest.raises(ValueError, match="unknown key"):
        augment.resolve_augment({"cutmx": True})
    with pytest.raises(ValueError, match="cutmix_beta"):
        augment.resolve_augment({"cutmix_beta": 0})
    with pytest.raises(ValueError, match="grayscale_p"):
        augment.resolve_augment({"grayscale_p": 1.5})
    with pytest.raises(ValueError, match="hflip"):
        augment.resolve_augment({"hflip": 1})
    assert augment.resolve_augment(None) == augment.AUGMENT_DEFAULTS | {"color_jitter": [0.4] * 4,
                                                                         "rrc_scale": [0.08, 1.0],
                                                                         "rrc_ratio": [0.75, 4 / 3]}
