import numpy as np
import pytest
import torch

from augprior.analysis import cka


def _data(n=200, d=30, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = x @ torch.randn(d, 20, generator=g, dtype=torch.float64) + 0.5 * torch.randn(n, 20, generator=g, dtype=torch.float64)
    return x, y


@pytest.mark.parametrize("fn", [cka.linear_cka, cka.rbf_cka])
def test_cka_of_a_representation_with_itself_is_one(fn):
    x, _ = _data()
    assert fn(x, x) == pytest.approx(1.0, abs=1e-12)


def test_linear_cka_is_invariant_to_orthogonal_maps_and_isotropic_scaling():
    x, y = _data()
    q, _ = torch.linalg.qr(torch.randn(30, 30, generator=torch.Generator().manual_seed(1), dtype=torch.float64))
    base = cka.linear_cka(x, y)
    assert cka.linear_cka(x @ q, y) == pytest.approx(base, abs=1e-12)
    assert cka.linear_cka(3.7 * x, 0.2 * y) == pytest.approx(base, abs=1e-12)
    assert cka.rbf_cka(x @ q, y) == pytest.approx(cka.rbf_cka(x, y), abs=1e-12)  # distances unchanged
    assert cka.rbf_cka(5.0 * x, y) == pytest.approx(cka.rbf_cka(x, y), abs=1e-12)  # median bandwidth scales along


def test_linear_cka_is_not_invariant_to_an_arbitrary_invertible_map():
    x, y = _data()
    a = torch.diag(torch.logspace(-2, 2, 30, dtype=torch.float64))  # invertible, badly conditioned
    assert abs(cka.linear_cka(x @ a, y) - cka.linear_cka(x, y)) > 0.05


def test_linear_cka_matches_the_direct_hsic_formula_and_a_known_value():
    x, y = _data(n=50)
    k, l = cka.linear_gram(x), cka.linear_gram(y)
    direct = cka.hsic_biased(k, l) / np.sqrt(cka.hsic_biased(k, k) * cka.hsic_biased(l, l))
    assert cka.linear_cka(x, y) == pytest.approx(direct, abs=1e-12)
    assert cka.gram_cka(k, l) == pytest.approx(direct, abs=1e-12)
    # one feature each: linear CKA is the squared Pearson correlation; x = 1, 2, 3 and y = 1, 2, 4 give 27/28
    assert cka.linear_cka([[1.0], [2.0], [3.0]], [[1.0], [2.0], [4.0]]) == pytest.approx(27 / 28, abs=1e-15)


def test_unbiased_hsic_is_the_mean_of_its_u_statistic():
    # brute force over ordered 4-tuples of distinct indices (Song et al. 2012, Theorem 2)
    import itertools

    x, y = _data(n=7, d=3)
    k, l = cka.linear_gram(x), cka.linear_gram(y)
    terms = [k[i, j] * l[i, j] + k[i, j] * l[q, r] - 2 * k[i, j] * l[i, q]
             for i, j, q, r in itertools.permutations(range(7), 4)]
    assert float(cka.hsic_unbiased(k, l)) == pytest.approx(float(sum(terms) / len(terms)), rel=1e-10)


def test_minibatch_cka_agrees_with_the_full_batch_value():
    x, y = _data(n=2000)
    full = cka.linear_cka(x, y)
    assert cka.minibatch_cka(x, y, batch_size=500) == pytest.approx(full, abs=0.01)
    assert cka.minibatch_cka(x, y, batch_size=2000) == pytest.approx(full, abs=0.01)
    assert cka.minibatch_cka(x, y, batch_size=500, kernel="rbf") == pytest.approx(cka.rbf_cka(x, y), abs=0.02)


def test_minibatch_cka_matrix_and_errors():
    x, y = _data(n=120)
    acc = cka.MinibatchCKA(2, 1)
    for i in range(0, 120, 40):
        acc.update([x[i:i + 40], y[i:i + 40]], [y[i:i + 40]])
    out = acc.compute()
    assert out.shape == (2, 1) and out[1, 0] == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ValueError, match="layers"):
        acc.update([x], [y])
    with pytest.raises(ValueError, match="at least 4"):
        cka.hsic_unbiased(torch.eye(3, dtype=torch.float64), torch.eye(3, dtype=torch.float64))


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_agrees_with_ckatorch(kernel):
    """Oracle: ckatorch 1.0.3's cka_base (Kornblith et al.'s reference, biased HSIC) in float64."""
    from ckatorch import cka_base

    x, y = _data()
    ours = cka.linear_cka(x, y) if kernel == "linear" else cka.rbf_cka(x, y, threshold=1.0)
    assert ours == pytest.approx(float(cka_base(x, y, kernel=kernel, threshold=1.0)), abs=1e-9)
