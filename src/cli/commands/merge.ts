import type { Command } from 'commander';
import { mergeStores } from '../../../pipelines/top-activations/merge-stores.js';
import { resolveDbPath } from '../../store/open-store.js';
import type { CommandSpec } from '../command-spec.js';

/** `run-pipeline merge a.db b.db ... --into all.db`: one run from the shards of a top-activations pass. */
export const mergeCommand: CommandSpec = {
  name: 'merge',
  summary: 'merge the finished shards (--shard i/N) of a top-activations pass from several stores into one run',
  configure(command: Command) {
    command
      .argument('<stores...>', 'stores holding the shards (the target may be one of them)')
      .option('--into <path>', 'store that receives the merged run (default: --db / ZFNET_DB / db/zfnet.db)')
      .option('--force', 'merge again when the target already holds the merge of this pass', false);
  },
  async run(options, command) {
    const result = mergeStores({
      sources: command.args,
      into: resolveDbPath(options['into'] as string | undefined),
      force: options['force'] === true,
    });
    process.stdout.write(`${result.runId} ${result.status} ${result.shardCount} shards ${result.imagesProcessed} images ${result.imagesSkipped} skipped\n`);
  },
};
