// Marks the package's bin files (package.json "bin") executable after tsc
// writes them. npm sets the mode of a dependency's bins when it installs it,
// but not of the project's own: in a fresh clone `npx run-pipeline` would
// find dist/src/cli/main.js without its x bit ("Permission denied").
import { chmodSync, readFileSync, statSync } from 'node:fs';

const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const bins = typeof manifest.bin === 'string' ? [manifest.bin] : Object.values(manifest.bin ?? {});
for (const bin of bins) {
  const path = new URL(`../${bin}`, import.meta.url);
  chmodSync(path, statSync(path).mode | 0o111);
}
