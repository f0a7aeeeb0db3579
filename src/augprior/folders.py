"""Export STL-10, Flowers-102 and Places-365 from their official files into the ImageFolder layout that the
224-px runs read (augprior.large_scale): `<out>/train/<class>/<file>` and `<out>/val/<class>/<file>`.

    python -m augprior.folders stl10 --source /data/stl10 --out "$AUGPRIOR_MIRROR/data/stl10"

torchvision's dataset classes read the official files (`--source` is their `root`: STL-10's `stl10_binary/`,
Flowers-102's `flowers-102/{jpg,imagelabels.mat,setid.mat}`, Places-365's devkit text files and
`data_large_standard/` + `val_large/`) and check them against the published md5s, so a corrupt or partial
download is refused before anything is written. Nothing is downloaded here (`--download` asks torchvision
to fetch what is missing, on a connected machine). Splits: STL-10 train / test (the unlabelled split is
not exported), Flowers-102 train + val / test (the 2,040-image training set of the transfer benchmarks),
Places-365 train-standard / val. JPEG images (Flowers-102, Places-365) are symlinked, not copied; STL-10's
binary arrays become PNG files. The folder is built under `<out>.partial` and renamed to `<out>` when
complete, so a killed export leaves no half-written `<out>`; `<out>/export.json` says what it holds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Callable, Iterable

from . import fileio
from .jobs import slug
from .manifest import DataError

# dataset -> our split -> torchvision's splits that make it up
SPLITS = {"stl10": {"train": ("train",), "val": ("test",)},
          "flowers102": {"train": ("train", "val"), "val": ("test",)},
          "places365": {"train": ("train-standard",), "val": ("val",)}}


def _stl10(source: Path, split: str, download: bool) -> Iterable[tuple[str, Callable[[Path], None], str]]:
    from PIL import Image
    from torchvision.datasets import STL10

    ds = STL10(str(source), split=split, download=download)
    for i, (pixels, label) in enumerate(zip(ds.data, ds.labels)):
        yield ds.classes[int(label)], (lambda dst, p=pixels: Image.fromarray(p.transpose(1, 2, 0)).save(dst)), \
            f"{split}_{i:05d}.png"


def _link(src: str | Path) -> Callable[[Path], None]:
    src = Path(src).resolve()

    def write(dst: Path) -> None:
        if not src.is_file():
            raise DataError(f"{src}: listed by the dataset's file list but not there")
        os.symlink(src, dst)
    return write


def _flowers102(source: Path, split: str, download: bool):
    from torchvision.datasets import Flowers102

    ds = Flowers102(str(source), split=split, download=download)
    for path, label in zip(ds._image_files, ds._labels):  # torchvision keeps no class names: the label index
        yield f"{int(label):03d}", _link(path), Path(path).name


def _places365(source: Path, split: str, download: bool):
    from torchvision.datasets import Places365

    ds = Places365(str(source), split=split, download=download)
    names = {idx: cls for cls, idx in ds.class_to_idx.items()}
    for path, idx in ds.imgs:
        yield slug(names[int(idx)]), _link(path), slug(Path(path).relative_to(ds.images_dir).as_posix())


READERS = {"stl10": _stl10, "flowers102": _flowers102, "places365": _places365}


def export(dataset: str, source: str | os.PathLike, out: str | os.PathLike, *, download: bool = False) -> dict:
    """Write `dataset`'s ImageFolder layout at `out` from its official files at `source`; returns what
    `<out>/export.json` records (images per split, classes)."""
    if dataset not in READERS:
        raise DataError(f"unknown dataset {dataset!r} to export (known: {', '.join(READERS)})")
    source, out = Path(source).expanduser(), Path(out).expanduser()
    if (out / "export.json").is_file():
        raise DataError(f"{out} is already an exported folder (remove it to export again)")
    if out.exists():
        raise DataError(f"{out} exists and is not an exported folder: refusing to write into it")
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)  # a killed export's leftovers
    counts: dict[str, Counter] = {}
    try:
        for ours, theirs in SPLITS[dataset].items():
            counts[ours] = Counter()
            for split in theirs:
                try:
                    items = list(READERS[dataset](source, split, download))
                except RuntimeError as err:  # torchvision: "Dataset not found or corrupted ..."
                    raise DataError(f"{dataset} {split} at {source}: {err}") from None
                for cls, write, name in items:
                    folder = partial / ours / cls
                    folder.mkdir(parents=True, exist_ok=True)
                    write(folder / name)
                    counts[ours][cls] += 1
        if set(counts["val"]) - set(counts["train"]):
            raise DataError(f"{dataset}: val classes {sorted(set(counts['val']) - set(counts['train']))} have no "
                            "training images")
        record = {"dataset": dataset, "source": str(source.resolve()),
                  "splits": {s: {"from": list(SPLITS[dataset][s]), "images": sum(c.values()), "classes": len(c)}
                             for s, c in counts.items()}}
        fileio.write_json(partial / "export.json", record)
        os.replace(partial, out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return record


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m augprior.folders", description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset", choices=sorted(READERS))
    ap.add_argument("--source", required=True, help="torchvision's root for the dataset (its official files)")
    ap.add_argument("--out", required=True, help="the ImageFolder root to write (e.g. $AUGPRIOR_MIRROR/data/stl10)")
    ap.add_argument("--download", action="store_true", help="let torchvision download missing files first")
    args = ap.parse_args(argv)
    try:
        record = export(args.dataset, args.source, args.out, download=args.download)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{args.out}: " + ", ".join(f"{s} {r['images']} images in {r['classes']} classes"
                                      for s, r in record["splits"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
