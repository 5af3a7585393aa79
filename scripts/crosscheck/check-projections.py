#!/usr/bin/env python3
"""Cross-check by hand (needs python3-torch, python3-torchvision): mosaics' deconvnet projections of an
imported torchvision model against PyTorch autograd with each ReLU's backward replaced by relu(grad) (the
deconvnet rule), started from the activation's own value. Usage:
check-projections.py ARCH STORE.db RUN_ID MOSAICS_DIR LAYER[,LAYER...] MODELS_DIR (units 0-3, ranks 0-2)."""
import sqlite3, sys, os, re
import numpy as np, torch, torchvision
from PIL import Image
import torchvision.transforms as T
from examined_module import examined_module
arch, db_path, run_id, mosaics_dir = sys.argv[1:5]
layers = sys.argv[5].split(',')
m = getattr(torchvision.models, arch)(weights=None).eval(); m.load_state_dict(torch.load(os.path.join(sys.argv[6], f'{arch}.pt')))
mods = dict(m.named_modules())
for mod in m.modules():
    if isinstance(mod, torch.nn.ReLU):
        mod.inplace = False
        mod.register_full_backward_hook(lambda _m, gin, gout: (torch.relu(gout[0]),))
tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
db = sqlite3.connect(db_path)
root = db.execute('SELECT image_root FROM top_activation_runs WHERE run_id = ?', (run_id,)).fetchone()[0]
worst = 0; worst_corr = 1; count = 0
for name in layers:
    layer = db.execute('SELECT layer FROM top_activation_layers WHERE run_id = ? AND name = ?', (run_id, name)).fetchone()[0]
    for unit in range(4):
        html = open(f'{mosaics_dir}/{name}/unit-{unit:04d}.html').read()
        boxes = re.findall(r'<td>(\d+),(\d+) (\d+)x(\d+)</td>', html)
        rows = db.execute('SELECT rank, image_id, y, x, rel_path, value FROM top_activations WHERE run_id=? AND layer=? AND unit=? ORDER BY rank', (run_id, layer, unit)).fetchall()
        for (rank, iid, y, x, rel, value) in rows[:3]:
            top, left, h, w = map(int, boxes[rank])
            x_in = tf(Image.open(os.path.join(root, rel)).convert('RGB')).unsqueeze(0).requires_grad_(True)
            module, call = examined_module(arch, mods, name)
            outputs = []
            hook = module.register_forward_hook(lambda _m, _i, out: outputs.append(out))
            m(x_in); hook.remove()
            act = outputs[call]
            assert abs(act[0, unit, y, x].item() - value) <= 1e-4 * max(1, abs(value)), (name, unit, rank, act[0, unit, y, x].item(), value)
            m.zero_grad(); act[0, unit, y, x].backward(act[0, unit, y, x].detach())  # the deconvnet starts from the activation itself (the paper: all other activations of the layer set to zero)
            ref = x_in.grad[0].permute(1, 2, 0).numpy()  # HWC
            window = ref[top:top + h, left:left + w]
            outside = np.abs(ref).sum() - np.abs(window).sum()
            got = np.load(f'{mosaics_dir}/{name}/units/unit-{unit:04d}-rank{rank}.npy')
            err = np.abs(got - window).max() / max(1e-30, np.abs(window).max())
            corr = np.corrcoef(got.ravel(), window.ravel())[0, 1]
            worst = max(worst, err); worst_corr = min(worst_corr, corr); count += 1
            if err > 1e-3: print(name, unit, rank, "err", err, "pixels off by >1% of max:", int((np.abs(got - window) > 0.01 * np.abs(window).max()).sum()), "of", window.size)
            assert outside <= 1e-6 * np.abs(ref).sum() + 1e-30, (name, unit, rank, 'gradient outside the recorded box', outside)
print(f'{arch}: {count} projections of {layers}: max |diff| / max |ref| {worst:.2e}, min correlation {worst_corr:.9f}')
