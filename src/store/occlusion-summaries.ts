/**
 * What the report says of each image an occlusion run swept (Fig. 7): its
 * true class by name and key, p(true class) unoccluded and at the occluder
 * position that lowers it most, and the strongest feature map.
 */
import type { Store } from './open-store.js';

export interface OcclusionSummary {
  imageKey: string;
  imageId: number | null;
  path: string;
  /** Logit index of the true class; null when unknown. */
  label: number | null;
  /** The class's readable name and key from the dataset index, when the image is one of its images. */
  className: string | null;
  classKey: string | null;
  trueProb: number | null;
  /** The lowest p(true class) over the occluder positions. */
  minTrueProb: number | null;
  layer: string;
  unit: number;
}

/** The dataset class of an occlusion image: its index entry is the one at the image's path (ids repeat across datasets). */
const CLASS_OF_IMAGE = `FROM datasets d JOIN images i ON i.dataset_id = d.id AND i.id = o.image_id AND d.image_root || '/' || i.rel_path = o.path
  JOIN classes cl ON cl.dataset_id = d.id AND cl.label = i.label`;

/** The swept images of an occlusion run, in image-key order. */
export function listOcclusionSummaries(db: Store, runId: string): OcclusionSummary[] {
  return db.prepare(`SELECT o.image_key AS imageKey, o.image_id AS imageId, o.path, o.label, o.true_prob AS trueProb, o.layer, o.unit,
      (SELECT MIN(c.true_prob) FROM occlusion_cells c WHERE c.run_id = o.run_id AND c.image_key = o.image_key) AS minTrueProb,
      (SELECT cl.name ${CLASS_OF_IMAGE} LIMIT 1) AS className,
      (SELECT cl.class_key ${CLASS_OF_IMAGE} LIMIT 1) AS classKey
    FROM occlusion_images o WHERE o.run_id = ? ORDER BY o.image_key`).all(runId) as OcclusionSummary[];
}
