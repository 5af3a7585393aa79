import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { formatGraphReport } from '../../graph/describe-graph.js';
import { openStore, resolveDbPath } from '../../store/open-store.js';
import { importModel, PRESETS } from '../../../pipelines/import/import-model.js';
import type { CommandSpec } from '../command-spec.js';
import { addDbOption } from '../common-options.js';

const optional = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/**
 * `run-pipeline import FILE`: brings in an ONNX file, a torchvision state_dict
 * (safetensors, with --arch) or a project checkpoint, with its preprocessing;
 * writes out/models/NAME.safetensors, records it in the store, prints its layers.
 */
export const importCommand: CommandSpec = {
  name: 'import',
  summary: 'bring in your own model (ONNX, or a torchvision state_dict as safetensors with --arch): layers with their own names, receptive fields, preprocessing recorded',
  configure(command: Command) {
    addDbOption(command
      .argument('<file>', 'model.onnx (torch.onnx.export, tf2onnx; opset 11+) or state_dict.safetensors')
      .option('--arch <name>', 'architecture of a state_dict: alexnet, vgg11, vgg16, vgg16_bn, resnet18, resnet50')
      .option('--name <name>', 'what commands call the model (default: the file name)')
      .option('--preset <name>', `preprocessing preset: ${Object.keys(PRESETS).join(', ')} (default: torchvision for --arch, plain 0..255 RGB for ONNX)`)
      .option('--input-size <px>', 'input side (needed when the ONNX input has symbolic height and width)')
      .option('--resize <px>', 'shorter side before the centre crop (default: 256/224 of the input size)')
      .option('--resample <method>', 'how images are resized: pil-bilinear (torchvision\'s Resize on PIL images, bit for bit; the torchvision preset) or sharp-lanczos3 (the other presets)')
      .option('--channels <order>', 'rgb or bgr')
      .option('--scale <max>', 'value range the model expects: 1 (0..1) or 255 (0..255)')
      .option('--mean <r,g,b>', 'per-channel mean, in the model\'s channel order and scale')
      .option('--std <r,g,b>', 'per-channel std')
      .option('--labels <file>', 'class names, one per line, in logit order')
      .option('--out <dir>', 'folder of converted models', 'out/models')
      .option('--json', 'print JSON instead of a table', false));
  },
  async run(options, command) {
    const file = command.args[0];
    if (typeof file !== 'string' || file.trim() === '') throw new UsageError('Expected a model file (ONNX or safetensors)');
    const db = openStore(resolveDbPath(optional(options['db'])));
    try {
      const { record, report } = importModel({
        db, file, arch: optional(options['arch']), name: optional(options['name']), preset: optional(options['preset']), labels: optional(options['labels']), outDir: optional(options['out']),
        preprocessing: { inputSize: options['inputSize'], resize: options['resize'], resample: options['resample'], channels: options['channels'], scale: options['scale'], mean: options['mean'], std: options['std'] },
      });
      if (options['json'] === true) {
        process.stdout.write(`${JSON.stringify({ record, report }, null, 2)}\n`);
        return;
      }
      process.stdout.write(`imported   ${record.name} (${record.format}${record.architecture === null ? '' : ` ${record.architecture}`}) from ${record.sourcePath}, sha256 ${record.sourceSha256}\n`);
      process.stdout.write(`file       ${record.modelPath}\npreprocess ${record.preprocessingJson}\n`);
      process.stdout.write(formatGraphReport(report));
    } finally {
      db.close();
    }
  },
};
