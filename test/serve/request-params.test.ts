import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatUnitTableQuery, parseIndex, parseRunId, parseUnitTableParams } from '../../src/serve/request-params.js';

test('path-like parameters answer 404, malformed ones 400 with the value named', () => {
  for (const raw of ['..', '../etc', '/etc/passwd', 'a/b', 'a\\b', '%2e%2e%2f', 'x%2Fy', '~root']) {
    assert.throws(() => parseRunId(raw), { statusCode: 404, message: 'Not found: the server serves images and files by indexed id only' }, raw);
    assert.throws(() => parseIndex('image', raw), { statusCode: 404 }, raw);
  }
  assert.throws(() => parseIndex('image', 'abc'), { statusCode: 400, message: 'Expected a non-negative integer for image but received "abc"' });
  assert.throws(() => parseIndex('unit', '-1'), { statusCode: 400, message: 'Expected a non-negative integer for unit but received "-1"' });
  assert.throws(() => parseIndex('unit', '1e3'), { statusCode: 400 });
  assert.throws(() => parseRunId('run id'), { statusCode: 400, message: 'Expected a run id (letters, digits, . _ : -) for run but received "run id"' });
  assert.equal(parseRunId('top-activations-20261201-101500-zfnet'), 'top-activations-20261201-101500-zfnet');
  assert.equal(parseIndex('image', '200000003'), 200000003);
});

test('unit table parameters: defaults, each bad value named, and the URL round trip', () => {
  const defaults = parseUnitTableParams({});
  assert.equal(formatUnitTableQuery(defaults), '');
  assert.deepEqual([defaults.sort, defaults.descending, defaults.offset, defaults.limit], ['unit', false, 0, 100]);
  const q = { sort: 'firing-rate', dir: 'asc', dead: 'live', class: '2', 'min-rate': '0.25', 'max-rate': '0.9', 'min-purity': '0.5', per: '20', page: '3' };
  const parsed = parseUnitTableParams(q);
  assert.deepEqual([parsed.offset, parsed.limit, parsed.dead, parsed.topLabel, parsed.descending], [40, 20, false, 2, false]);
  assert.deepEqual(parseUnitTableParams(Object.fromEntries(new URLSearchParams(formatUnitTableQuery(parsed).slice(1)))), parsed);
  assert.equal(parseUnitTableParams({ sort: 'max' }).descending, true);
  assert.throws(() => parseUnitTableParams({ sort: 'colour' }), { statusCode: 400, message: 'Expected one of unit, firing-rate, mean, max, purity, dead, top-class for sort but received "colour"' });
  assert.throws(() => parseUnitTableParams({ 'min-rate': '2' }), { statusCode: 400, message: 'Expected a number between 0 and 1 for min-rate but received "2"' });
  assert.throws(() => parseUnitTableParams({ page: '0' }), { statusCode: 400, message: 'Expected a number between 1 and 1000000000 for page but received "0"' });
  assert.throws(() => parseUnitTableParams({ per: '1.5' }), { statusCode: 400, message: 'Expected an integer between 1 and 1000 for per but received "1.5"' });
  assert.throws(() => parseUnitTableParams({ dead: ['dead', 'live'] }), { statusCode: 400 });
});
