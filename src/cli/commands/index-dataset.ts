import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { openStore, resolveDbPath } from '../../store/open-store.js';
import { prepareDataset } from '../../../pipelines/shared/input-stream.js';
import type { CommandSpec } from '../command-spec.js';
import { addDataOption, addDbOption } from '../common-options.js';

/**
 * `run-pipeline index`: indexes (or checks) a dataset's splits in the store.
 * Every command does this on its own; this command exists for --reindex: a
 * split whose tree changed while runs in the store use its image ids is
 * refused everywhere until it is re-indexed on purpose here.
 */
export const indexCommand: CommandSpec = {
  name: 'index',
  summary: 'index (or check against the tree) the splits of a dataset; --reindex rebuilds a changed split that runs still use',
  configure(command: Command) {
    command
      .option('--split <list>', 'splits, comma separated', 'train,val')
      .option('--reindex', 'index a changed split again even when runs in the store use its image ids (their stored images then belong to the old tree)', false);
    addDataOption(command);
    addDbOption(command);
  },
  async run(options) {
    const splits = String(options['split']).split(',').map((s) => s.trim());
    if (splits.some((s) => s === '')) throw new UsageError(`Expected split names separated by commas for --split but received "${String(options['split'])}"`);
    const db = openStore(resolveDbPath(options['db'] as string | undefined));
    try {
      const result = await prepareDataset({ db, data: options['data'] as string | undefined, splits, reindex: options['reindex'] === true });
      for (const split of splits) {
        const record = result.splits[split]!;
        process.stdout.write(`${result.dataset.root} ${split}: ${record.imageCount} images, tree ${record.treeFingerprint?.slice(0, 16) ?? 'unknown'}\n`);
      }
    } finally {
      db.close();
    }
  },
};
