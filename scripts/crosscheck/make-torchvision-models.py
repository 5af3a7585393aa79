#!/usr/bin/env python3
"""Cross-check by hand (not part of the tests; needs Debian's python3-torch, python3-torchvision):
random-weight torchvision AlexNet, ResNet-18 and VGG-11 saved as state_dicts (.pt), as safetensors
(written by hand: the safetensors package is not in Debian) and as ONNX files written by torch.onnx.export
(opset 13, batch axis dynamic; the exporter folds ResNet-18's BatchNorms into its convs), plus a small class-per-folder dataset of
photo-like PNGs of several sizes. Usage: make-torchvision-models.py OUT_DIR [ARCH,ARCH...] (default
alexnet,resnet18,vgg11; also vgg16, vgg16_bn, resnet50); then import and run
top-activations / mosaics (see docs/readme/own-models.md) and check-top9.py / check-projections.py.
"""
import json, struct, sys, os
import numpy as np, torch, torchvision
from PIL import Image

def save_safetensors(sd, path):
    header, blobs, off = {}, [], 0
    for k, v in sd.items():
        a = v.detach().cpu().contiguous().numpy()
        dt = {np.dtype('float32'): 'F32', np.dtype('int64'): 'I64'}[a.dtype]
        b = a.tobytes(); header[k] = {'dtype': dt, 'shape': list(a.shape), 'data_offsets': [off, off + len(b)]}; blobs.append(b); off += len(b)
    h = json.dumps(header).encode(); h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h))); f.write(h); [f.write(b) for b in blobs]

OUT = sys.argv[1]
torch.manual_seed(0)
for arch in (sys.argv[2].split(',') if len(sys.argv) > 2 else ['alexnet', 'resnet18', 'vgg11']):
    m = getattr(torchvision.models, arch)(weights=None).eval()
    for mod in m.modules():  # non-trivial BN statistics
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.2, 0.2); mod.running_var.uniform_(0.5, 1.5); mod.weight.data.uniform_(0.5, 1.5); mod.bias.data.uniform_(-0.1, 0.1)
    torch.save(m.state_dict(), f'{OUT}/{arch}.pt')
    save_safetensors(m.state_dict(), f'{OUT}/{arch}.safetensors')
    torch.onnx.export(m, torch.zeros(1, 3, 224, 224), f'{OUT}/{arch}.onnx', opset_version=13, input_names=['input'],
                      output_names=['logits'], dynamic_axes={'input': {0: 'n'}, 'logits': {0: 'n'}})

rng = np.random.default_rng(1)
for c in range(3):
    d = f'{OUT}/data/val/class{c}'; os.makedirs(d, exist_ok=True)
    for i in range(8):
        h, w = [(256, 256), (256, 320), (300, 256), (256, 400)][i % 4]
        yy, xx = np.mgrid[0:h, 0:w]
        img = np.stack([128 + 100 * np.sin(xx / (5 + 3 * c + i) + k) * np.cos(yy / (7 + i) - k) for k in range(3)], -1)
        img += rng.normal(0, 20, img.shape)
        for _ in range(4):  # blobs
            cy, cx, r = rng.integers(0, h), rng.integers(0, w), rng.integers(10, 60)
            img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.integers(0, 255, 3)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(f'{d}/img{i}.png')
print('ok')
