/**
 * The one table of commands. Each entry lives in its own file under
 * commands/; add a line here to register it. An unknown name lists these.
 */
import type { CommandSpec } from './command-spec.js';
import { evolutionCommand } from './commands/evolution.js';
import { infoCommand } from './commands/info.js';
import { initCommand } from './commands/init.js';
import { meanCommand } from './commands/mean.js';
import { modelsCommand } from './commands/models.js';
import { trainCommand } from './commands/train.js';
import { occlusionCommand } from './commands/occlusion.js';
import { sampleDataCommand } from './commands/sample-data.js';
import { topActivationsCommand } from './commands/top-activations.js';

export const COMMANDS: Readonly<Record<string, CommandSpec>> = Object.freeze({
  models: modelsCommand,
  init: initCommand,
  info: infoCommand,
  'sample-data': sampleDataCommand,
  mean: meanCommand,
  occlusion: occlusionCommand,
  'top-activations': topActivationsCommand,
  train: trainCommand,
});
