import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeHtml, htmlPage, sortableTable } from '../../src/report/html.js';

test('text is escaped in content and attributes', () => {
  assert.equal(escapeHtml(`<a href="x">Tom & Jerry's</a>`), '&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;');
});

test('sortable tables carry sort keys: numbers raw, nulls empty, links by text', () => {
  const html = sortableTable('t', [{ label: 'unit' }, { label: 'rate', digits: 2 }, { label: 'class' }], [
    [{ text: '3', href: 'conv1/unit-0003.html' }, 0.123456, null],
    [4, 1, 'n0<1>'],
  ]);
  assert.match(html, /<td data-sort="3"><a href="conv1\/unit-0003.html">3<\/a><\/td>/);
  assert.match(html, /<td class="num" data-sort="0.123456">0.12<\/td>/);
  assert.match(html, /<td data-sort="">&ndash;<\/td>/);
  assert.match(html, /<td data-sort="n0&lt;1&gt;">n0&lt;1&gt;<\/td>/);
  assert.equal((html.match(/<th data-col=/g) ?? []).length, 3);
});

test('pages are self-contained: no external scripts, styles or images', () => {
  const page = htmlPage('r', [{ href: '#a', text: 'a' }], '<p>x</p>');
  assert.doesNotMatch(page, /(src|href)="https?:/);
  assert.match(page, /<script>[\s\S]*table\.sortable/);
});
