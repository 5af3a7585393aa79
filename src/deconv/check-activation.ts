/**
 * The check before drawing: a stored top-activation entry must be reproduced
 * by the forward pass the projection uses; otherwise the checkpoint or the
 * images changed since the top-activations run and the projection would show
 * something else than the stored entry. Pure.
 */
import { UsageError } from '../errors.js';

/** Relative tolerance of the check (issue 6). */
export const ACTIVATION_REL_TOLERANCE = 1e-3;
/** Absolute floor, so a stored 0 (a dead unit) accepts float noise around 0. */
export const ACTIVATION_ABS_TOLERANCE = 1e-6;

export interface StoredActivation {
  runId: string;
  layer: string;
  unit: number;
  imageId: number;
  /** Image path or name, for the message. */
  imageName: string;
  value: number;
}

/** True when `recomputed` equals `stored` within the tolerances. */
export function activationsAgree(stored: number, recomputed: number, relTolerance = ACTIVATION_REL_TOLERANCE): boolean {
  const scale = Math.max(Math.abs(stored), Math.abs(recomputed));
  return Math.abs(stored - recomputed) <= relTolerance * scale + ACTIVATION_ABS_TOLERANCE;
}

/**
 * @throws UsageError naming run, layer, unit and image when the values differ
 */
export function checkStoredActivation(stored: StoredActivation, recomputed: number): void {
  if (activationsAgree(stored.value, recomputed)) return;
  throw new UsageError(
    `Run ${stored.runId}, ${stored.layer} unit ${stored.unit}, image ${stored.imageId} (${stored.imageName}): stored activation ${stored.value} but the projection's forward pass gives ${recomputed} (relative tolerance ${ACTIVATION_REL_TOLERANCE}); the checkpoint or the image data changed since that run`,
  );
}
