#!/usr/bin/env python3
"""Cross-check by hand (needs python3-torch, python3-torchvision): the top-k of every unit of the newest
top-activations run of an imported torchvision model, against torchvision's own model and transforms
(Resize(256), CenterCrop(224), ToTensor, Normalize). Usage: check-top9.py ARCH MODEL_NAME STORE.db MODELS_DIR
(MODELS_DIR holds ARCH.pt from make-torchvision-models.py). Prints how many entries differ in image or position
and the largest value difference relative to the unit's largest |value|."""
import sqlite3, sys, os
import numpy as np, torch, torchvision
from PIL import Image
import torchvision.transforms as T
from examined_module import examined_module
arch, name = sys.argv[1], sys.argv[2]
m = getattr(torchvision.models, arch)(weights=None).eval(); m.load_state_dict(torch.load(os.path.join(sys.argv[4], f'{arch}.pt')))
db = sqlite3.connect(sys.argv[3])
run_id = db.execute("SELECT run_id FROM top_activation_runs WHERE model = ? ORDER BY rowid DESC LIMIT 1", (name,)).fetchone()[0]
layers = db.execute("SELECT layer, name, node, units, map_height, map_width FROM top_activation_layers WHERE run_id = ? ORDER BY layer", (run_id,)).fetchall()
root = db.execute('SELECT image_root FROM top_activation_runs WHERE run_id = ?', (run_id,)).fetchone()[0]
images = db.execute("SELECT i.id, i.rel_path FROM images i JOIN datasets d ON d.id = i.dataset_id WHERE i.split='val' AND d.image_root = ? ORDER BY i.id", (root,)).fetchall()
tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
mods = dict(m.named_modules())
acts = {}
calls = {}
hooks = []
for (num, lname, node, units, h, w) in layers:
    mod, call = examined_module(arch, mods, lname)
    def hook(_m, _i, out, lname=lname, call=call):
        seen = calls.get(lname, 0); calls[lname] = seen + 1
        if seen == call: acts[lname] = out.detach().clone()
    hooks.append(mod.register_forward_hook(hook))
per = {}
with torch.no_grad():
    for iid, rel in images:
        acts.clear(); calls.clear()
        x = tf(Image.open(os.path.join(root, rel)).convert('RGB')).unsqueeze(0)
        m(x)
        for (num, lname, node, units, h, w) in layers:
            a = acts[lname][0].reshape(units, -1).numpy()
            idx = a.argmax(1); val = a.max(1)
            for u in range(units): per.setdefault((lname, u), []).append((float(val[u]), iid, int(idx[u]) // w, int(idx[u]) % w))
bad_img = bad_pos = 0; maxrel = 0; total = 0; worst=None
for (num, lname, node, units, h, w) in layers:
    rows = db.execute("SELECT unit, rank, image_id, value, y, x FROM top_activations WHERE run_id=? AND layer=? ORDER BY unit, rank", (run_id, num)).fetchall()
    for (u, rank, iid, val, y, x) in rows:
        exp = sorted(per[(lname, u)], key=lambda e: (-e[0], e[1]))[rank]
        total += 1
        if exp[1] != iid: bad_img += 1; continue
        if (exp[2], exp[3]) != (y, x): bad_pos += 1
        scale = max(abs(e[0]) for e in per[(lname, u)])
        r = abs(exp[0] - val) / max(1e-12, scale)
        if r > maxrel: maxrel = r; worst = (lname, u, rank, exp[0], val)
print(f'{name}: run {run_id}: {len(layers)} layers, {total} top-k entries; image differs {bad_img}, position differs {bad_pos}, max diff relative to the unit max {maxrel:.2e} (worst {worst})')
