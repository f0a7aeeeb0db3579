"""The paper's published numbers: the project's own copy of shared/paper/table*.csv."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd

# paper architecture names as printed in the tables -> augprior model names
ARCHS = {"WRN-40-4": "wrn40_4", "WRN-16-4": "wrn16_4", "WRN-40-2": "wrn40_2", "WRN-40-1": "wrn40_1",
         "VGG-19": "vgg19_bn", "VGG-16": "vgg16_bn", "ResNet-56": "resnet56", "ResNet-20": "resnet20",
         "ResNet-18": "resnet18", "ResNet-50": "resnet50"}


@lru_cache(maxsize=None)
def table(name: str) -> pd.DataFrame:
    path = resources.files("augprior").joinpath(f"resources/paper/{name}.csv")
    with path.open() as f:
        return pd.read_csv(f)


def value(name: str, column: str, **match) -> float | None:
    """The paper's number in `column` of the row of table `name` matching every key=value."""
    df = table(name)
    rows = df
    for key, want in match.items():
        rows = rows[rows[key].astype(str).str.lower() == str(want).lower()]
    if len(rows) != 1 or column not in rows or pd.isna(rows.iloc[0][column]):
        return None
    return float(rows.iloc[0][column])


def paper_column(dataset: str) -> str:
    """Which of the paper's dataset columns a result on `dataset` is compared with."""
    return "cifar100" if dataset == "cifar100" else "cifar10"
