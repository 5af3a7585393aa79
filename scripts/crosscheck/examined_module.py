"""Which torchvision module call gives a layer the project's top-activations examined (shared by check-top9.py and
check-projections.py): for a conv layer the ReLU after it (after the BatchNorm in vgg*_bn); a residual block's last
conv after its BatchNorm (before the join); a block's other convs after the block's shared ReLU, at its first call for
conv1 and second for conv2; block outputs and pools are the module's own output."""


def examined_module(arch, mods, name):
    """(module, which call of it counting from 0) whose output is layer `name` of torchvision model `arch`."""
    if arch == 'alexnet' or arch.startswith('vgg'):
        idx = int(name.split('.')[1])
        if type(mods[name]).__name__ != 'Conv2d': return mods[name], 0
        while type(mods[f'features.{idx}']).__name__ != 'ReLU': idx += 1
        return mods[f'features.{idx}'], 0
    if name == 'conv1': return mods['relu'], 0  # the stem's ReLU
    parts = name.split('.')
    if len(parts) == 3 and parts[2].startswith('conv'):
        prefix = '.'.join(parts[:2])
        block = mods[prefix]
        if parts[2] == ('conv3' if hasattr(block, 'conv3') else 'conv2'): return mods[prefix + '.bn' + parts[2][4:]], 0
        return block.relu, int(parts[2][4:]) - 1
    return mods[name], 0
