/**
 * Static HTML building blocks for the report: escaping, sections, figures and
 * sortable tables. Pure; the page carries its own CSS and a few lines of
 * script, so it opens from the file system with no server and no network.
 */

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A table cell value: text, a number (formatted), or a link. */
export type CellValue = string | number | null | { text: string; href: string };

export interface TableColumn {
  label: string;
  /** Digits after the point for numbers; default 4 significant digits. */
  digits?: number;
  /** What the column means, shown as its header's tooltip. */
  legend?: string;
}

/** A number as the report prints it: integers as they are, others to 4 significant digits (or `digits` after the point). */
export function formatNumber(value: number, digits: number | undefined): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value) && digits === undefined) return String(value);
  return digits === undefined ? Number(value.toPrecision(4)).toString() : value.toFixed(digits);
}

/** One <td> of a table, carrying its sort key. */
export function cellHtml(value: CellValue, column: TableColumn): string {
  if (value === null) return '<td data-sort="">&ndash;</td>';
  if (typeof value === 'number') return `<td class="num" data-sort="${value}">${formatNumber(value, column.digits)}</td>`;
  if (typeof value === 'string') return `<td data-sort="${escapeHtml(value)}">${escapeHtml(value)}</td>`;
  return `<td data-sort="${escapeHtml(value.text)}"><a href="${escapeHtml(value.href)}">${escapeHtml(value.text)}</a></td>`;
}

/** A table whose columns sort on a click of their header (see SORT_SCRIPT). */
export function sortableTable(id: string, columns: TableColumn[], rows: CellValue[][]): string {
  const head = columns.map((c, i) => `<th data-col="${i}" title="${escapeHtml(c.legend === undefined ? 'click to sort' : `${c.legend} (click to sort)`)}">${escapeHtml(c.label)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((v, i) => cellHtml(v, columns[i]!)).join('')}</tr>`).join('\n');
  return `<table class="sortable" id="${escapeHtml(id)}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** An image with a caption; `src` is relative to the page. */
export function figure(src: string, caption: string, widthPx?: number): string {
  const width = widthPx === undefined ? '' : ` width="${widthPx}"`;
  return `<figure><a href="${escapeHtml(src)}"><img src="${escapeHtml(src)}" alt="${escapeHtml(caption)}"${width}></a><figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

/** A titled section with an anchor. */
export function section(id: string, title: string, body: string): string {
  return `<section id="${escapeHtml(id)}"><h2>${escapeHtml(title)}</h2>\n${body}\n</section>`;
}

const STYLE = `body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{border:1px solid #ddd;padding:3px 8px}
th{background:#f4f4f4;cursor:pointer;user-select:none}th.asc::after{content:" \\25B2"}th.desc::after{content:" \\25BC"}
td.num{text-align:right;font-variant-numeric:tabular-nums}figure{display:inline-block;margin:8px;vertical-align:top}
figcaption{font-size:12px;color:#555;max-width:480px}img{max-width:100%;border:1px solid #ccc}nav a{margin-right:12px}
.note{color:#555;font-size:13px}dl.legend{display:grid;grid-template-columns:max-content auto;gap:2px 12px;max-width:1000px}
dl.legend dt{font-weight:bold}dl.legend dd{margin:0}
.panels{display:flex;flex-wrap:nowrap;gap:6px;overflow-x:auto}.panels figure{margin:0;flex:0 0 204px}.panels img{width:200px;height:auto}.occlusion-label{font-weight:bold;margin:16px 0 2px}`;

/** Sorts a table.sortable by the clicked column: numbers numerically, text alphabetically; a second click reverses. */
export const SORT_SCRIPT = `document.querySelectorAll('table.sortable th').forEach(function (th) {
  th.addEventListener('click', function () {
    var table = th.closest('table'); var col = Number(th.dataset.col);
    var asc = !th.classList.contains('asc');
    table.querySelectorAll('th').forEach(function (h) { h.classList.remove('asc', 'desc'); });
    th.classList.add(asc ? 'asc' : 'desc');
    var body = table.tBodies[0]; var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[col].dataset.sort, y = b.cells[col].dataset.sort;
      var nx = parseFloat(x), ny = parseFloat(y);
      var c = (x !== '' && y !== '' && !isNaN(nx) && !isNaN(ny)) ? nx - ny : String(x).localeCompare(String(y));
      return asc ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});`;

/** A complete page. */
export function htmlPage(title: string, nav: Array<{ href: string; text: string }>, body: string): string {
  const links = nav.map((n) => `<a href="${escapeHtml(n.href)}">${escapeHtml(n.text)}</a>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><h1>${escapeHtml(title)}</h1><nav>${links}</nav>
${body}
<script>${SORT_SCRIPT}</script>
</body></html>
`;
}
