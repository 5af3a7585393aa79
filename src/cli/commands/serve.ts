import type { Command } from 'commander';
import { startServe } from '../../../pipelines/serve/serve.js';
import { expectChoice, expectInteger, invalidParameterError } from '../../errors.js';
import { resolveDbPath } from '../../store/open-store.js';
import { withStopSignals } from '../../stop-signals.js';
import type { CommandSpec } from '../command-spec.js';
import { addBackendOption, addDbOption, BACKEND_CHOICES } from '../common-options.js';

/** `run-pipeline serve`: the interactive unit explorer over the store, until Ctrl-C. */
export const serveCommand: CommandSpec = {
  name: 'serve',
  summary: 'interactive explorer of the store in the browser: runs, layers, unit tables, unit and image pages, projections and occlusion on demand',
  configure(command: Command) {
    command
      .option('--port <n>', 'TCP port (0: any free port)', '8080')
      .option('--host <address>', 'address to bind; anything but 127.0.0.1 / localhost lets other machines in (a warning says so)', '127.0.0.1')
      .option('--out <dir>', 'folder the on-demand renders are cached under (<dir>/serve/<run>/)', 'out')
      .option('--queue <n>', 'renders queued or running at most (more are refused until some finish)', '64');
    addBackendOption(command);
    addDbOption(command);
  },
  async run(options) {
    const port = expectInteger('port', options['port'], 0, 65535);
    const host = String(options['host']);
    if (!/^[\w.:-]+$/.test(host)) throw invalidParameterError('host', 'an IP address or host name', host);
    const backend = expectChoice('backend', options['backend'], BACKEND_CHOICES);
    const queueCapacity = expectInteger('queue', options['queue'], 1, 100_000);
    const server = await startServe({ dbPath: resolveDbPath(options['db'] as string | undefined), port, host, backend, outRoot: String(options['out']), queueCapacity });
    await withStopSignals({ stopping: 'stopping the server after the render in progress', quitting: 'dropping the render in progress' }, async (signal) => {
      // The URL only once Ctrl-C is handled: a client that stops the server as soon as it reads the URL gets a clean stop.
      process.stdout.write(`serve: explorer at ${server.url} (Ctrl-C stops it)\n`);
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      await server.close();
    });
    process.stdout.write('serve: stopped\n');
  },
};
