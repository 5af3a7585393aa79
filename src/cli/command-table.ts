/**
 * The one table of commands. Each entry lives in its own file under
 * commands/; add a line here to register it. An unknown name lists these.
 */
import type { CommandSpec } from './command-spec.js';
import { compareCommand } from './commands/compare.js';
import { correspondenceCommand } from './commands/correspondence.js';
import { evolutionCommand } from './commands/evolution.js';
import { demoCommand } from './commands/demo.js';
import { importCommand } from './commands/import.js';
import { indexCommand } from './commands/index-dataset.js';
import { infoCommand } from './commands/info.js';
import { initCommand } from './commands/init.js';
import { invarianceCommand } from './commands/invariance.js';
import { meanCommand } from './commands/mean.js';
import { modelsCommand } from './commands/models.js';
import { mosaicsCommand } from './commands/mosaics.js';
import { projectCommand } from './commands/project.js';
import { trainCommand } from './commands/train.js';
import { evaluateCommand } from './commands/evaluate.js';
import { runsCommand } from './commands/runs.js';
import { occlusionCommand } from './commands/occlusion.js';
import { reportCommand } from './commands/report.js';
import { serveCommand } from './commands/serve.js';
import { sampleDataCommand } from './commands/sample-data.js';
import { topActivationsCommand } from './commands/top-activations.js';
import { mergeCommand } from './commands/merge.js';
import { activationsCommand } from './commands/activations.js';
import { topCommand } from './commands/top.js';
import { unitsCommand } from './commands/units.js';

export const COMMANDS: Readonly<Record<string, CommandSpec>> = Object.freeze({
  models: modelsCommand,
  init: initCommand,
  info: infoCommand,
  import: importCommand,
  'sample-data': sampleDataCommand,
  index: indexCommand,
  mean: meanCommand,
  occlusion: occlusionCommand,
  invariance: invarianceCommand,
  correspondence: correspondenceCommand,
  compare: compareCommand,
  evolution: evolutionCommand,
  'top-activations': topActivationsCommand,
  merge: mergeCommand,
  units: unitsCommand,
  top: topCommand,
  activations: activationsCommand,
  project: projectCommand,
  mosaics: mosaicsCommand,
  train: trainCommand,
  evaluate: evaluateCommand,
  runs: runsCommand,
  report: reportCommand,
  serve: serveCommand,
  demo: demoCommand,
});
