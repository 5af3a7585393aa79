/**
 * Progress for long passes: a redrawn bar with rate and ETA on a TTY, plain
 * periodic lines otherwise (logs, CI). Writes to stderr so stdout stays data.
 */

export interface ProgressOptions {
  /** Label in front of the bar, e.g. "top-activations val". */
  label: string;
  /** Total units of work when known. */
  total?: number;
  /** Unit name for the rate, default "img". */
  unit?: string;
  /** Stream to draw on; default process.stderr. */
  stream?: NodeJS.WriteStream;
  /** Minimum time between plain lines (non-TTY), default 5000 ms. */
  plainIntervalMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export interface Progress {
  /** Adds `n` done units; `fields` are shown after the rate (e.g. { loss: '2.31' }). */
  tick(n: number, fields?: Record<string, string>): void;
  /** Prints the final line. */
  done(message?: string): void;
}

/** Formats seconds as h:mm:ss or m:ss. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** Creates a progress reporter. */
export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const unit = options.unit ?? 'img';
  const isTty = stream.isTTY === true;
  const plainIntervalMs = options.plainIntervalMs ?? 5000;
  const startMs = now();
  let doneUnits = 0;
  let lastDrawMs = 0;
  /** Units done when the last plain line was written (-1: none yet). */
  let unitsAtLastPlainLine = -1;
  let lastFields: Record<string, string> = {};

  const line = (): string => {
    const elapsedS = (now() - startMs) / 1000;
    const rate = elapsedS > 0 ? doneUnits / elapsedS : 0;
    const fields = Object.entries(lastFields).map(([k, v]) => `${k} ${v}`).join(' ');
    const total = options.total;
    if (total !== undefined && total > 0) {
      const frac = Math.min(1, doneUnits / total);
      const eta = rate > 0 ? (total - doneUnits) / rate : Number.NaN;
      const bar = isTty ? `[${'#'.repeat(Math.round(frac * 24)).padEnd(24, '.')}] ` : '';
      return `${options.label} ${bar}${doneUnits}/${total} ${(frac * 100).toFixed(1)}% ${rate.toFixed(1)} ${unit}/s ETA ${formatDuration(eta)} ${fields}`.trimEnd();
    }
    return `${options.label} ${doneUnits} ${unit} ${rate.toFixed(1)} ${unit}/s elapsed ${formatDuration(elapsedS)} ${fields}`.trimEnd();
  };

  return {
    tick(n, fields) {
      doneUnits += n;
      if (fields) lastFields = fields;
      const t = now();
      if (isTty && t - lastDrawMs >= 100) {
        stream.write(`\r\x1b[2K${line()}`);
        lastDrawMs = t;
      } else if (!isTty && t - lastDrawMs >= plainIntervalMs) {
        stream.write(`${line()}\n`);
        lastDrawMs = t;
        unitsAtLastPlainLine = doneUnits;
      }
    },
    done(message) {
      // In a log, a plain line written by the last tick already says where the pass ended: not twice.
      if (isTty) stream.write(`\r\x1b[2K${line()}\n`);
      else if (unitsAtLastPlainLine !== doneUnits) stream.write(`${line()}\n`);
      if (message) stream.write(`${message}\n`);
    },
  };
}
