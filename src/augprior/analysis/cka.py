"""Centered kernel alignment (Kornblith et al. 2019) between representations, in float64.

linear_cka / rbf_cka: the full-batch (biased HSIC) estimators on (N, D) feature matrices.
MinibatchCKA: Nguyen et al. (2021)'s minibatch CKA, the unbiased HSIC (Song et al. 2012) averaged over
minibatches of the same examples for every pair of layers, so it scales to the whole test set.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def _f64(x) -> torch.Tensor:
    x = torch.as_tensor(x).double()  # on the tensor's device (Gram matrices of wide layers on the GPU)
    return x.flatten(1) if x.ndim > 2 else x


def linear_cka(x, y) -> float:
    """||Y'X||_F^2 / (||X'X||_F ||Y'Y||_F) of the column-centred features (biased HSIC, linear kernel)."""
    x, y = _f64(x), _f64(y)
    x, y = x - x.mean(0), y - y.mean(0)
    cross = (y.T @ x).square().sum()
    return float(cross / ((x.T @ x).norm() * (y.T @ y).norm()))


def linear_gram(x) -> torch.Tensor:
    x = _f64(x)
    return x @ x.T


def rbf_gram(x, threshold: float = 1.0) -> torch.Tensor:
    """exp(-d^2 / (2 s^2)) with s = threshold * the median pairwise distance (Kornblith et al.'s rule)."""
    gram = linear_gram(x)
    norms = gram.diagonal()
    sq = (norms[:, None] + norms[None, :] - 2 * gram).clamp_(min=0)
    sigma2 = threshold ** 2 * sq.median()
    return torch.exp(-sq / (2 * sigma2)) if sigma2 > 0 else torch.ones_like(sq)


def center(gram: torch.Tensor) -> torch.Tensor:
    return gram - gram.mean(0, keepdim=True) - gram.mean(1, keepdim=True) + gram.mean()


def hsic_biased(k: torch.Tensor, l: torch.Tensor) -> float:
    """tr(K H L H) / (n - 1)^2, H the centring matrix (Gretton et al. 2005)."""
    n = k.shape[0]
    h = torch.eye(n, dtype=torch.float64, device=k.device) - 1.0 / n
    return float(torch.trace(k @ h @ l @ h) / (n - 1) ** 2)


def gram_cka(k: torch.Tensor, l: torch.Tensor) -> float:
    """CKA of two Gram matrices with the biased HSIC."""
    kc, lc = center(k.double()), center(l.double())
    return float((kc * lc).sum() / (kc.norm() * lc.norm()))


def rbf_cka(x, y, threshold: float = 1.0) -> float:
    return gram_cka(rbf_gram(x, threshold), rbf_gram(y, threshold))


def hsic_unbiased(k: torch.Tensor, l: torch.Tensor) -> torch.Tensor:
    """Song et al. (2012)'s unbiased HSIC estimator of two n x n Gram matrices (n > 3)."""
    n = k.shape[0]
    if n < 4:
        raise ValueError(f"the unbiased HSIC needs at least 4 examples, got {n}")
    k, l = k.clone(), l.clone()
    k.fill_diagonal_(0)
    l.fill_diagonal_(0)
    ones_k, ones_l = k.sum(0), l.sum(0)
    value = (k * l).sum() + ones_k.sum() * ones_l.sum() / ((n - 1) * (n - 2)) - 2 * (ones_k @ ones_l) / (n - 2)
    return value / (n * (n - 3))


class MinibatchCKA:
    """CKA between every layer of one model (rows) and every layer of another (columns), accumulated
    over minibatches: CKA = sum_b HSIC_1(K_b, L_b) / sqrt(sum_b HSIC_1(K_b, K_b) sum_b HSIC_1(L_b, L_b))."""

    def __init__(self, rows: int, cols: int, kernel: str = "linear", threshold: float = 1.0):
        if kernel not in ("linear", "rbf"):
            raise ValueError(f"kernel must be linear or rbf, not {kernel!r}")
        self.kernel, self.threshold = kernel, threshold
        self.cross = torch.zeros(rows, cols, dtype=torch.float64)
        self.self_x = torch.zeros(rows, dtype=torch.float64)
        self.self_y = torch.zeros(cols, dtype=torch.float64)
        self.batches = 0

    def _gram(self, x) -> torch.Tensor:
        return linear_gram(x) if self.kernel == "linear" else rbf_gram(x, self.threshold)

    def update(self, xs: Sequence, ys: Sequence) -> None:
        """One minibatch: the (B, D_i) features of every row layer and every column layer, same B examples."""
        if len(xs) != len(self.self_x) or len(ys) != len(self.self_y):
            raise ValueError(f"expected {len(self.self_x)} and {len(self.self_y)} layers, got {len(xs)} and {len(ys)}")
        ks, ls = [self._gram(x) for x in xs], [self._gram(y) for y in ys]
        for i, k in enumerate(ks):
            self.self_x[i] += hsic_unbiased(k, k).cpu()
            for j, l in enumerate(ls):
                self.cross[i, j] += hsic_unbiased(k, l).cpu()
        for j, l in enumerate(ls):
            self.self_y[j] += hsic_unbiased(l, l).cpu()
        self.batches += 1

    def compute(self) -> torch.Tensor:
        """(rows, cols) CKA values."""
        if not self.batches:
            raise ValueError("no minibatch was added")
        return self.cross / torch.sqrt(self.self_x[:, None].clamp(min=1e-300) * self.self_y[None, :].clamp(min=1e-300))


def minibatch_cka(x, y, batch_size: int, kernel: str = "linear") -> float:
    """Minibatch CKA of two (N, D) feature matrices (consecutive batches; a last batch under 4 rows is dropped)."""
    acc = MinibatchCKA(1, 1, kernel)
    x, y = _f64(x), _f64(y)
    for i in range(0, len(x), batch_size):
        if len(x[i:i + batch_size]) >= 4:
            acc.update([x[i:i + batch_size]], [y[i:i + batch_size]])
    return float(acc.compute()[0, 0])
