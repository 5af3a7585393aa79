/**
 * What a benchmark hands back to the runner (main.ts): its rows and notes.
 * Their own module so that the benchmarks, which the runner loads, do not
 * import the runner.
 */
export interface BenchRow {
  /** What was measured, e.g. "forward zfnet 224 wasm batch 8". */
  name: string;
  value: number;
  unit: string;
  /** Peak resident set size during the measurement, when measured. */
  peakRssMiB?: number;
  /** Backend the row ran on (wasm, cpu, tensorflow, torch), when it is one. */
  backend?: string;
  extra?: Record<string, unknown>;
}

export interface BenchResult {
  rows: BenchRow[];
  notes?: string[];
}
