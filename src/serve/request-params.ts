/**
 * Validation of the explorer's URL parameters, once, at the boundary. A
 * malformed value answers 400 with a one-line reason naming it; a value that
 * looks like a path (a slash, a backslash, `..`, once decoded) answers 404,
 * because the server never maps request text to a file: images and rendered
 * files are found by indexed id only. Pure.
 */
import { UNIT_TABLE_SORTS, type UnitTableQuery, type UnitTableSort } from '../store/serve-queries.js';

/** An answer other than 200: the status and one line for the client. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(readonly statusCode: 400 | 404 | 503, message: string) {
    super(message);
  }
}

/** Units per page of the unit table unless ?per= says otherwise. */
export const DEFAULT_UNITS_PER_PAGE = 100;
export const MAX_UNITS_PER_PAGE = 1000;

const LOOKS_LIKE_PATH = /[/\\]|\.\.|%2f|%5c|^~/i;

function rejectPathLike(raw: string): void {
  if (LOOKS_LIKE_PATH.test(raw) || raw.includes('\0')) throw new HttpError(404, 'Not found: the server serves images and files by indexed id only');
}

const show = (raw: unknown): string => JSON.stringify(String(raw)).slice(0, 80);

/**
 * A run id as the store spells it (`top-activations-20261201-101500-zfnet`).
 * @throws HttpError 404 for path-like text, 400 for anything else malformed
 */
export function parseRunId(raw: unknown, name = 'run'): string {
  const text = String(raw ?? '');
  rejectPathLike(text);
  if (!/^[A-Za-z0-9][\w.:-]{0,199}$/.test(text)) {
    throw new HttpError(400, `Expected a run id (letters, digits, . _ : -) for ${name} but received ${raw === undefined || raw === '' ? 'nothing' : show(raw)}`);
  }
  return text;
}

/**
 * The two run ids of the side-by-side page (?a=RUN&b=RUN).
 * @throws HttpError 400 naming the missing parameters (or the malformed one), 404 for path-like text
 */
export function parseComparePair(query: Record<string, unknown>): [string, string] {
  const missing = (['a', 'b'] as const).filter((name) => query[name] === undefined || query[name] === '');
  if (missing.length > 0) {
    throw new HttpError(400, `Expected two top-activations runs, /compare?a=RUN&b=RUN (the runs page offers them), but ${missing.join(' and ')} ${missing.length === 2 ? 'are' : 'is'} missing`);
  }
  return [parseRunId(query['a'], 'a'), parseRunId(query['b'], 'b')];
}

/**
 * A non-negative integer path or query parameter (layer, unit, image id, rank).
 * @throws HttpError 404 for path-like text, 400 when not an integer of at most 15 digits
 */
export function parseIndex(name: string, raw: unknown): number {
  const text = String(raw ?? '');
  rejectPathLike(text);
  if (!/^\d{1,15}$/.test(text)) throw new HttpError(400, `Expected a non-negative integer for ${name} but received ${show(raw)}`);
  return Number(text);
}

/** @throws HttpError 400 naming the parameter when `value` is not one of `choices` */
export function parseChoice<T extends string>(name: string, raw: unknown, choices: readonly T[], fallback: T): T {
  if (raw === undefined || raw === '') return fallback;
  if (typeof raw !== 'string' || !(choices as readonly string[]).includes(raw)) {
    throw new HttpError(400, `Expected one of ${choices.join(', ')} for ${name} but received ${show(raw)}`);
  }
  return raw as T;
}

/** An optional number in [min, max]; empty means absent. @throws HttpError 400 naming it */
export function parseOptionalNumber(name: string, raw: unknown, min: number, max: number): number | null {
  if (raw === undefined || raw === '') return null;
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
  if (!Number.isFinite(n) || n < min || n > max) throw new HttpError(400, `Expected a number between ${min} and ${max} for ${name} but received ${show(raw)}`);
  return n;
}

function parseOptionalInteger(name: string, raw: unknown, min: number, max: number): number | null {
  const n = parseOptionalNumber(name, raw, min, max);
  if (n !== null && !Number.isInteger(n)) throw new HttpError(400, `Expected an integer between ${min} and ${max} for ${name} but received ${show(raw)}`);
  return n;
}

/** Sort keys whose natural order is largest first (a click on their header shows the strongest units). */
const DESCENDING_FIRST: ReadonlySet<UnitTableSort> = new Set(['firing-rate', 'mean', 'max', 'purity', 'dead']);

/** The default direction of a sort key. */
export function defaultDescending(sort: UnitTableSort): boolean {
  return DESCENDING_FIRST.has(sort);
}

/** The unit table's query string, as the layer page's links and form write it. */
export interface UnitTableParams extends UnitTableQuery {
  page: number;
  perPage: number;
}

/**
 * Parses ?sort=&dir=&dead=&class=&min-rate=&max-rate=&min-purity=&page=&per=.
 * @throws HttpError 400 naming the first bad parameter
 */
export function parseUnitTableParams(query: Record<string, unknown>): UnitTableParams {
  const sort = parseChoice('sort', query['sort'], UNIT_TABLE_SORTS, 'unit');
  const dir = parseChoice('dir', query['dir'], ['asc', 'desc'] as const, defaultDescending(sort) ? 'desc' : 'asc');
  const dead = parseChoice('dead', query['dead'], ['any', 'dead', 'live'] as const, 'any');
  const page = parseOptionalInteger('page', query['page'], 1, 1e9) ?? 1;
  const perPage = parseOptionalInteger('per', query['per'], 1, MAX_UNITS_PER_PAGE) ?? DEFAULT_UNITS_PER_PAGE;
  return {
    sort, descending: dir === 'desc', dead: dead === 'any' ? null : dead === 'dead',
    topLabel: parseOptionalInteger('class', query['class'], 0, 1e9),
    minFiringRate: parseOptionalNumber('min-rate', query['min-rate'], 0, 1),
    maxFiringRate: parseOptionalNumber('max-rate', query['max-rate'], 0, 1),
    minPurity: parseOptionalNumber('min-purity', query['min-purity'], 0, 1),
    page, perPage, offset: (page - 1) * perPage, limit: perPage,
  };
}

/** The query string of a unit table view (defaults left out, so URLs stay short and stable). */
export function formatUnitTableQuery(p: UnitTableParams, change: Partial<UnitTableParams> = {}): string {
  const q = { ...p, ...change };
  const parts: Array<[string, string]> = [];
  if (q.sort !== 'unit') parts.push(['sort', q.sort]);
  if (q.descending !== defaultDescending(q.sort)) parts.push(['dir', q.descending ? 'desc' : 'asc']);
  if (q.dead !== null) parts.push(['dead', q.dead ? 'dead' : 'live']);
  if (q.topLabel !== null) parts.push(['class', String(q.topLabel)]);
  if (q.minFiringRate !== null) parts.push(['min-rate', String(q.minFiringRate)]);
  if (q.maxFiringRate !== null) parts.push(['max-rate', String(q.maxFiringRate)]);
  if (q.minPurity !== null) parts.push(['min-purity', String(q.minPurity)]);
  if (q.perPage !== DEFAULT_UNITS_PER_PAGE) parts.push(['per', String(q.perPage)]);
  if (q.page !== 1) parts.push(['page', String(q.page)]);
  return parts.length === 0 ? '' : `?${new URLSearchParams(parts).toString()}`;
}
