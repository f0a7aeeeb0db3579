"""CPU latency of the fp32 models of Table 13 against their int8 versions (augprior.compress: torch.ao FX QAT,
x86 backend, converted to int8 kernels), measured in one run, with the file sizes and the CPU's name and int8
features (VNNI decides most of the int8 speed-up: name the CPU with the numbers).

    .venv/bin/python benchmarks/compress_latency.py [--archs resnet56 vgg11_bn vgg19_bn wrn16_4 wrn40_4]
        [--batch-sizes 1 64] [--runs 20] [--warmup 3] [--threads 1] [--student PATH --teacher PATH]

Without --student / --teacher, each architecture is built with random weights, fake-quantised, calibrated on
a few random batches and converted (latency does not depend on the weights' values). With them, the files of a
compress qat job (student.pt) and of its teacher (model.pt) are timed instead. fp32 and int8 are interleaved
run by run so that load from other processes hits both alike; the numbers are medians (ms per batch).
The last line is `speedup <median int8 / fp32 speed-up over all rows>`.
"""

from __future__ import annotations

import argparse
import io
import platform
import statistics
import time

import torch

from augprior import compress as C
from augprior.models import build_model


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
        name = next(line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name"))
        flags = set(next(line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")))
        feats = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8") if f in flags]
        return f"{name} ({', '.join(feats) or 'no AVX2'})"
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def size(model: torch.nn.Module) -> int:
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return len(buf.getvalue())


def pair(arch: str, side: int = 32):
    fp32 = build_model(arch, 10).eval()
    qat = C.prepare_qat(build_model(arch, 10), side)
    with torch.no_grad():
        for _ in range(3):
            qat(torch.randn(16, 3, side, side))
    return fp32, C.convert_int8(qat.eval())


@torch.no_grad()
def timed(model, x) -> float:
    t0 = time.perf_counter()
    model(x)
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--archs", nargs="+", default=["resnet56", "vgg11_bn", "vgg19_bn", "wrn16_4", "wrn40_4"])
    ap.add_argument("--batch-sizes", nargs="+", type=int, default=[1, 64])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's default)")
    ap.add_argument("--student", help="a compress qat job's student.pt (with --teacher)")
    ap.add_argument("--teacher", help="its teacher's model.pt")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    print(f"CPU: {cpu_name()}; torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
          f"quantized engine {C.BACKEND}")
    if a.student:
        from augprior.checkpoint import load_model

        fp32, meta = load_model(a.teacher)
        int8, _ = C.load_compressed(a.student)
        models = {meta["arch"]: (fp32, int8)}
    else:
        models = {arch: pair(arch) for arch in a.archs}
    speedups = []
    print(f"{'arch':10} {'batch':>5} {'fp32 ms':>9} {'int8 ms':>9} {'speed-up':>8} {'fp32 MB':>8} {'int8 MB':>8}")
    with C.quant_engine():
        for arch, (fp32, int8) in models.items():
            for bs in a.batch_sizes:
                x = torch.randn(bs, 3, 32, 32)
                for _ in range(a.warmup):
                    timed(fp32, x), timed(int8, x)
                f, q = [], []
                for _ in range(a.runs):
                    f.append(timed(fp32, x))
                    q.append(timed(int8, x))
                mf, mq = statistics.median(f), statistics.median(q)
                speedups.append(mf / mq)
                print(f"{arch:10} {bs:5d} {mf:9.2f} {mq:9.2f} {mf / mq:7.2f}x {size(fp32) / 1e6:8.2f} "
                      f"{size(int8) / 1e6:8.2f}")
    print(f"speedup {statistics.median(speedups):.2f}")


if __name__ == "__main__":
    main()
