"""SGD steps of full-size ZFNet (paper Fig. 3, 224 px) in PyTorch on the CPU,
for the training comparisons of `npm run bench -- train` and
`npm run bench -- train-vs-torch`: the step `run-pipeline train` takes
(forward with dropout 0.5 on fc6/fc7, softmax cross-entropy, backward, SGD
with momentum 0.9, then the paper's conv filter renormalisation to RMS 0.1),
on random input (no decode, so PyTorch's figure is its ceiling).

Usage: python3 torch-train.py BATCH TIMED_STEPS THREADS [CLASSES] [SIZE]
SIZE: full (zfnet) or small (zfnet-small: 112 px, 32/64/96/96/64, fc 256).
Prints one JSON line: imagesPerSecond, secondsPerStep, peakRssMiB, threads, version.
"""
import json
import resource
import sys
import time

import torch
from torch import nn


def build_zfnet(num_classes, size):
    f1, f2, f3, f4, f5, fc = (96, 256, 384, 384, 256, 4096) if size == "full" else (32, 64, 96, 96, 64, 256)
    pixels = 224 if size == "full" else 112
    # PyTorch divides alpha by the window; the project does not: 5 * 1e-4 here is the project's 1e-4.
    features = nn.Sequential(
        nn.Conv2d(3, f1, 7, stride=2, padding=1), nn.ReLU(),
        nn.MaxPool2d(3, 2, ceil_mode=True), nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0),
        nn.Conv2d(f1, f2, 5, stride=2), nn.ReLU(),
        nn.MaxPool2d(3, 2, ceil_mode=True), nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0),
        nn.Conv2d(f2, f3, 3, padding=1), nn.ReLU(),
        nn.Conv2d(f3, f4, 3, padding=1), nn.ReLU(),
        nn.Conv2d(f4, f5, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(3, 2), nn.Flatten(),
    )
    with torch.no_grad():
        flat = features(torch.zeros(1, 3, pixels, pixels)).shape[1]  # 9216 at full size (6x6x256)
    return nn.Sequential(
        *features,
        nn.Linear(flat, fc), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(fc, fc), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(fc, num_classes),
    ).train()


def renormalize(model, radius=0.1):
    with torch.no_grad():
        for layer in model:
            if isinstance(layer, nn.Conv2d):
                rms = layer.weight.pow(2).mean(dim=(1, 2, 3), keepdim=True).sqrt()
                layer.weight.mul_(torch.where(rms > radius, radius / rms, torch.ones_like(rms)))


def main():
    batch, timed, threads = (int(v) for v in sys.argv[1:4])
    classes = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    size = sys.argv[5] if len(sys.argv) > 5 else "full"
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = build_zfnet(classes, size)
    for layer in model:
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.normal_(layer.weight, 0.0, 0.01)
            nn.init.zeros_(layer.bias)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    pixels = 224 if size == "full" else 112
    x = torch.rand(batch, 3, pixels, pixels) * 255 - 128
    y = torch.arange(batch) % classes

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        renormalize(model)
        return loss.item()

    step()  # warm-up (allocations, kernel selection)
    start = time.perf_counter()
    for _ in range(timed):
        step()
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"imagesPerSecond": batch * timed / seconds, "secondsPerStep": seconds / timed, "peakRssMiB": peak_mib, "threads": threads, "version": torch.__version__}))


main()
