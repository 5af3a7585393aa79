"""Forward images/s of full-size ZFNet (paper Fig. 3, 224 px) in PyTorch on
the CPU, for the comparison in `npm run bench -- throughput`. Random input,
no image decoding; eval mode, no autograd.

Usage: python3 torch-forward.py BATCH TIMED_BATCHES THREADS [full|convs]
`convs` times conv1-conv5 alone (through the last ReLU, PyTorch's own LRN):
the work a top-activations pass needs (Debian's PyTorch is slow on the fc
layers, which would flatten the comparison). Default: full.
Prints one JSON line: imagesPerSecond, peakRssMiB, threads, version, part.
"""
import json
import resource
import sys
import time

import torch
from torch import nn


def build_zfnet(num_classes=1000):
    return nn.Sequential(
        nn.Conv2d(3, 96, 7, stride=2, padding=1), nn.ReLU(),
        nn.MaxPool2d(3, 2, ceil_mode=True), nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0),
        nn.Conv2d(96, 256, 5, stride=2), nn.ReLU(),
        nn.MaxPool2d(3, 2, ceil_mode=True), nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(3, 2), nn.Flatten(),
        nn.Linear(9216, 4096), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(4096, num_classes),
    ).eval()


def main():
    batch, timed, threads = (int(v) for v in sys.argv[1:4])
    part = sys.argv[4] if len(sys.argv) > 4 else "full"
    assert part in ("full", "convs"), part
    torch.set_num_threads(threads)
    model = build_zfnet()
    if part == "convs":
        model = model[:14]  # conv1 .. conv5's ReLU: [N, 256, 13, 13]
    x = torch.randn(batch, 3, 224, 224) * 60
    with torch.no_grad():
        expected = (batch, 1000) if part == "full" else (batch, 256, 13, 13)
        assert tuple(model(x).shape) == expected  # warm-up, and the geometry check
        start = time.perf_counter()
        for _ in range(timed):
            model(x)
        seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"imagesPerSecond": batch * timed / seconds, "peakRssMiB": peak_mib, "threads": threads, "version": torch.__version__, "part": part}))


main()
