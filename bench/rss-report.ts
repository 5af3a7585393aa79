/**
 * Preloaded into a benchmarked command (`node --import <this file's URL> ...`):
 * when the process exits it appends its peak resident set size (getrusage
 * maxRSS of the whole process, worker threads included) to the file named by
 * $ZFNET_RSS_REPORT, as one line `{"peakRssKiB": N}`.
 */
import { appendFileSync } from 'node:fs';

const target = process.env['ZFNET_RSS_REPORT'];
if (target !== undefined && target !== '') {
  process.on('exit', () => appendFileSync(target, `${JSON.stringify({ peakRssKiB: process.resourceUsage().maxRSS })}\n`));
}
