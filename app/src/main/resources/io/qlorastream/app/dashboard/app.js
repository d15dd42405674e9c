// The dashboard page: renders /api/state, then follows /api/events (server-sent events: the server pushes the state
// when it changed). Charts are hand-written SVG built with DOM calls: the page may not load anything from a CDN (it
// must work without internet, and the CSP is default-src 'self'), and a chart library would have to be vendored
// into the jar for four simple charts. Every text from the events is untrusted: it only ever reaches the page
// through textContent / createTextNode / setAttribute of non-script attributes, never through innerHTML.
'use strict';

const SVG_NS = 'http://www.w3.org/2000/svg';

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  setAttrs(e, attrs);
  append(e, children);
  return e;
}

function svg(tag, attrs, ...children) {
  const e = document.createElementNS(SVG_NS, tag);
  setAttrs(e, attrs);
  append(e, children);
  return e;
}

function setAttrs(e, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) throw new Error('no event handler attributes');
    e.setAttribute(k, String(v));
  }
}

function append(e, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

function fmt(v, digits) {
  if (v === null || v === undefined) return '–';
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return v.toFixed(digits === undefined ? 4 : digits);
}

function time(ms) {
  if (!ms) return '–';
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function replace(id, ...children) {
  const target = document.getElementById(id);
  target.replaceChildren();
  append(target, children);
}

function table(className, headers, rows) {
  return el('table', { class: className },
    el('thead', null, el('tr', null, headers.map(h => el('th', null, h)))),
    el('tbody', null, rows));
}

// ---- charts

// Horizontal bars, one per label: the ingest breakdowns.
function barChart(title, values, id, barClass) {
  const entries = Object.entries(values || {}).sort((a, b) => b[1] - a[1]);
  const fig = el('figure', { id: id, class: 'bar-chart' }, el('figcaption', null, title));
  if (entries.length === 0) {
    append(fig, [el('p', { class: 'muted' }, 'no data')]);
    return fig;
  }
  const rowH = 20, labelW = 150, width = 420, valueW = 70;
  const max = Math.max(...entries.map(e => e[1]), 1);
  const chart = svg('svg', { viewBox: `0 0 ${width} ${entries.length * rowH + 4}`, role: 'img' });
  entries.forEach(([label, value], i) => {
    const y = i * rowH + 2;
    const w = Math.max(1, (width - labelW - valueW) * value / max);
    chart.appendChild(svg('text', { x: labelW - 6, y: y + 13, 'text-anchor': 'end' }, label.length > 24 ? label.slice(0, 23) + '…' : label,
      svg('title', null, label)));
    chart.appendChild(svg('rect', { class: 'bar' + (barClass ? ' ' + barClass : ''), x: labelW, y: y + 2, width: w, height: rowH - 6, 'data-label': label },
      svg('title', null, `${label}: ${fmt(value)}`)));
    chart.appendChild(svg('text', { x: labelW + w + 4, y: y + 13 }, fmt(value)));
  });
  fig.appendChild(chart);
  return fig;
}

// Training loss against step, one line per lineage (a retrain starts a new lineage at step 0).
function lossChart(adapter) {
  const byLineage = new Map();
  for (const s of adapter.snapshots) {
    if (s.trainingLoss === null) continue;
    if (!byLineage.has(s.lineageId)) byLineage.set(s.lineageId, []);
    byLineage.get(s.lineageId).push(s);
  }
  const fig = el('figure', { class: 'loss-chart', 'data-adapter': adapter.name }, el('figcaption', null, adapter.name));
  const points = [...byLineage.values()].flat();
  if (points.length === 0) {
    append(fig, [el('p', { class: 'muted' }, 'no snapshots yet')]);
    return fig;
  }
  const W = 420, H = 200, L = 50, R = 10, T = 10, B = 30;
  const steps = points.map(p => p.step), losses = points.map(p => p.trainingLoss);
  let x0 = Math.min(...steps), x1 = Math.max(...steps), y0 = Math.min(...losses), y1 = Math.max(...losses);
  if (x1 === x0) { x0 -= 1; x1 += 1; }
  if (y1 === y0) { y0 -= 0.5; y1 += 0.5; }
  const sx = v => L + (W - L - R) * (v - x0) / (x1 - x0);
  const sy = v => T + (H - T - B) * (1 - (v - y0) / (y1 - y0));
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img' });
  for (let i = 0; i <= 4; i++) {
    const v = y0 + (y1 - y0) * i / 4;
    chart.appendChild(svg('line', { class: 'grid-line', x1: L, x2: W - R, y1: sy(v), y2: sy(v) }));
    chart.appendChild(svg('text', { x: L - 4, y: sy(v) + 4, 'text-anchor': 'end' }, v.toFixed(3)));
  }
  chart.appendChild(svg('line', { class: 'axis', x1: L, x2: W - R, y1: H - B, y2: H - B }));
  chart.appendChild(svg('line', { class: 'axis', x1: L, x2: L, y1: T, y2: H - B }));
  chart.appendChild(svg('text', { x: L, y: H - B + 14 }, fmt(Math.round(x0))));
  chart.appendChild(svg('text', { x: W - R, y: H - B + 14, 'text-anchor': 'end' }, fmt(Math.round(x1))));
  chart.appendChild(svg('text', { x: (L + W) / 2, y: H - 4, 'text-anchor': 'middle' }, 'step'));
  const legend = el('div', { class: 'legend' });
  [...byLineage.entries()].forEach(([lineage, snaps], i) => {
    const c = 'c' + (i % 6);
    snaps.sort((a, b) => a.step - b.step);
    chart.appendChild(svg('polyline', { class: 'loss-line ' + c, 'data-lineage': lineage, points: snaps.map(s => `${sx(s.step)},${sy(s.trainingLoss)}`).join(' ') }));
    for (const s of snaps) {
      chart.appendChild(svg('circle', { class: 'loss-point ' + c, cx: sx(s.step), cy: sy(s.trainingLoss), r: 3 },
        svg('title', null, `${s.snapshotId}: step ${s.step}, loss ${fmt(s.trainingLoss)}`)));
    }
    legend.appendChild(el('span', null, el('span', { class: 'swatch ' + c }), 'lineage ' + lineage));
  });
  fig.appendChild(chart);
  fig.appendChild(legend);
  return fig;
}

// Every release and rollback on one time axis, a row per adapter.
function timeline(adapters) {
  const rows = adapters.filter(a => a.releases.length > 0);
  if (rows.length === 0) return el('p', { class: 'muted' }, 'no releases yet');
  const all = rows.flatMap(a => a.releases.map(r => r.releasedAt));
  let t0 = Math.min(...all), t1 = Math.max(...all);
  if (t1 === t0) { t0 -= 60000; t1 += 60000; }
  const W = 900, L = 170, R = 30, rowH = 36;
  const H = rows.length * rowH + 24;
  const sx = t => L + (W - L - R) * (t - t0) / (t1 - t0);
  const chart = svg('svg', { id: 'timeline-svg', viewBox: `0 0 ${W} ${H}`, role: 'img' });
  rows.forEach((a, i) => {
    const y = i * rowH + 18;
    chart.appendChild(svg('text', { x: L - 8, y: y + 4, 'text-anchor': 'end' }, a.name.length > 26 ? a.name.slice(0, 25) + '…' : a.name,
      svg('title', null, a.name)));
    chart.appendChild(svg('line', { class: 'axis', x1: L, x2: W - R, y1: y, y2: y }));
    for (const r of a.releases) {
      const x = sx(r.releasedAt);
      const rollback = r.kind === 'ROLLBACK';
      const current = a.current && a.current.version === r.version;
      const cls = 'timeline-marker ' + (rollback ? 'rollback' : 'release') + (current ? ' current' : '');
      const label = rollback ? `v${r.version} rollback from v${fmt(r.rolledBackFromVersion)}` : `v${r.version}`;
      const shape = rollback
        ? svg('path', { class: cls, d: `M${x},${y - 7} L${x + 7},${y} L${x},${y + 7} L${x - 7},${y} Z`, 'data-version': r.version })
        : svg('circle', { class: cls, cx: x, cy: y, r: 6, 'data-version': r.version });
      shape.appendChild(svg('title', null, `${a.name} ${label} at ${time(r.releasedAt)} (snapshot ${r.snapshotId})`));
      chart.appendChild(shape);
      chart.appendChild(svg('text', { x: x, y: y - 10, 'text-anchor': 'middle' }, rollback ? `↩v${r.version}` : `v${r.version}`));
    }
  });
  chart.appendChild(svg('text', { x: L, y: H - 2 }, time(t0)));
  chart.appendChild(svg('text', { x: W - R, y: H - 2, 'text-anchor': 'end' }, time(t1)));
  return chart;
}

// ---- sections

function renderKafka(state) {
  const k = state.kafka;
  const banner = document.getElementById('kafka-error');
  if (k.status === 'error') {
    banner.hidden = false;
    banner.textContent = k.error;
  } else {
    banner.hidden = true;
    banner.textContent = '';
  }
  replace('kafka-summary', `Kafka ${k.bootstrapServers}: ${k.status}`);
  replace('topic-table', table('topics', ['role', 'topic', 'present', 'records read'],
    k.topics.map(t => el('tr', null, el('td', null, t.role), el('td', { class: 'mono' }, t.name),
      el('td', null, t.present ? 'yes' : 'not yet'), el('td', null, fmt(t.records))))),
    k.skipped > 0 ? el('p', { class: 'fail' }, `${k.skipped} record(s) skipped; last: ${k.lastSkipped}`) : null,
    state.limits.droppedForAdapterCap > 0 ? el('p', { class: 'fail' }, `${state.limits.droppedForAdapterCap} event(s) of adapters over the cap of ${state.limits.adapters} not shown`) : null);
}

function renderIngest(m) {
  const sources = m.sources || [];
  const down = sources.filter(s => !s.ok);
  let status;
  if (sources.length === 0) status = 'No metrics source: start the dashboard with --metrics-url http://HOST:PORT/metrics for each service.';
  else status = `Metrics from ${sources.length} source(s), read ${time(m.readAt)}` + (down.length ? '; unreachable: ' + down.map(s => `${s.name} (${s.error})`).join(', ') : '');
  replace('metrics-status', status);
  const i = m.ingest || {};
  replace('ingest-charts',
    barChart('Events in, by source', i.eventsIn, 'chart-events-in'),
    barChart('Filtered, by reason', i.filtered, 'chart-filtered'),
    barChart('Examples filtered, by reason', i.examplesFiltered, 'chart-examples-filtered'),
    barChart('Redacted, by type', i.redactions, 'chart-redactions'),
    barChart('Dead letters', i.deadLetters, 'chart-dead-letters', 'dead'),
    barChart('Examples written, by split', i.examples, 'chart-examples'));
}

function renderTraining(state) {
  const t = state.metrics.trainer || [];
  replace('trainer-table', t.length === 0 ? null : table('trainer', ['adapter', 'step', 'loss', 'tokens/s', 'consumer lag'],
    t.map(r => el('tr', null, el('td', null, r.adapter), el('td', null, fmt(r.step)), el('td', null, fmt(r.loss)),
      el('td', null, fmt(r.tokensPerSecond, 1)), el('td', null, fmt(r.lagRecords))))));
  const charts = state.adapters.filter(a => a.snapshots.length > 0).map(lossChart);
  replace('loss-charts', charts.length ? charts : el('p', { class: 'muted' }, 'no snapshots yet'));
}

function renderEvaluations(state) {
  const rows = state.adapters.flatMap(a => a.evaluations.map(e => ({ adapter: a.name, e })))
    .sort((x, y) => y.e.evaluatedAt - x.e.evaluatedAt).slice(0, 300);
  if (rows.length === 0) { replace('evaluation-table', el('p', { class: 'muted' }, 'no evaluations yet')); return; }
  replace('evaluation-table', table('evaluations', ['evaluated', 'adapter', 'snapshot', 'step', 'verdict', 'checks (value vs threshold)', 'reason'],
    rows.map(({ adapter, e }) => el('tr', { class: 'evaluation ' + (e.passed ? 'passed' : 'failed'), 'data-adapter': adapter },
      el('td', null, time(e.evaluatedAt)), el('td', null, adapter), el('td', { class: 'mono' }, e.snapshotId), el('td', null, fmt(e.step)),
      el('td', { class: 'verdict ' + (e.passed ? 'pass' : 'fail') }, e.passed ? 'PASS' : 'FAIL'),
      el('td', null, e.checks.map(c => el('span', { class: 'check ' + (c.passed ? 'pass' : 'fail'), 'data-check': c.name },
        `${c.passed ? '✓' : '✗'} ${c.name} ${fmt(c.value)} vs ${fmt(c.threshold)}`))),
      el('td', { class: 'reason' }, e.reason)))));
}

function renderReleases(state) {
  replace('release-timeline', timeline(state.adapters));
  const rows = state.adapters.flatMap(a => a.releases.map(r => ({ a, r }))).sort((x, y) => y.r.releasedAt - x.r.releasedAt);
  replace('release-table', rows.length === 0 ? null : table('releases', ['released', 'adapter', 'version', 'kind', 'snapshot', 'evaluation', 'serving now'],
    rows.map(({ a, r }) => el('tr', { class: 'release ' + r.kind.toLowerCase(), 'data-adapter': a.name },
      el('td', null, time(r.releasedAt)), el('td', null, a.name), el('td', null, 'v' + r.version),
      el('td', { class: r.kind === 'ROLLBACK' ? 'fail' : 'pass' }, r.kind === 'ROLLBACK' ? `ROLLBACK from v${fmt(r.rolledBackFromVersion)}` : 'RELEASE'),
      el('td', { class: 'mono' }, r.snapshotId), el('td', { class: 'mono' }, r.evaluationId),
      el('td', null, a.current && a.current.version === r.version ? 'current' : '')))));
}

function renderLineage(state) {
  const items = state.adapters.flatMap(a => a.releases.map(r => ({ a, r }))).sort((x, y) => y.r.releasedAt - x.r.releasedAt).slice(0, 100);
  if (items.length === 0) { replace('lineage-list', el('p', { class: 'muted' }, 'no releases yet')); return; }
  replace('lineage-list', items.map(({ a, r }) => {
    const s = r.lineage.snapshot, e = r.lineage.evaluation;
    const head = el('h3', null, `${a.name} v${r.version}` + (r.kind === 'ROLLBACK' ? ` (rollback from v${fmt(r.rolledBackFromVersion)})` : ''));
    const evalLine = e
      ? el('li', null, 'evaluation ', el('span', { class: 'mono' }, e.evaluationId), ': ',
        el('span', { class: e.passed ? 'pass' : 'fail' }, e.passed ? 'PASS' : 'FAIL'), ` on ${fmt(e.heldoutSetSize)} held-out examples`)
      : el('li', { class: 'muted' }, 'evaluation ', el('span', { class: 'mono' }, r.evaluationId), ' (not read)');
    const snapLine = s
      ? el('li', null, 'snapshot ', el('span', { class: 'mono snapshot-id' }, s.snapshotId), `, step ${fmt(s.step)}, lineage `,
        el('span', { class: 'mono' }, s.lineageId), `, ${fmt(s.examplesSeen)} examples, ${fmt(s.tokensSeen)} tokens, loss ${fmt(s.trainingLoss)}`)
      : el('li', { class: 'muted' }, 'snapshot ', el('span', { class: 'mono' }, r.snapshotId), ' (not read: older than the kept window, or not yet read)');
    const offsets = s && s.offsetRanges.length
      ? el('li', null, 'trained on ', s.offsetRanges.map((o, i) => el('span', { class: 'mono offset-range' },
        (i ? ', ' : '') + `${o.topic}[${o.partition}] offsets [${o.fromOffset}, ${o.toOffset})`)))
      : null;
    return el('div', { class: 'lineage' + (r.kind === 'ROLLBACK' ? ' rollback' : ''), 'data-adapter': a.name, 'data-version': r.version },
      head, el('ul', null, evalLine, snapLine, offsets));
  }));
}

let rendered = -1;

function render(state) {
  // the first fetch and the stream's first event carry the same version: draw it once
  if (state.version === rendered) return;
  rendered = state.version;
  renderKafka(state);
  renderIngest(state.metrics);
  renderTraining(state);
  renderEvaluations(state);
  renderReleases(state);
  renderLineage(state);
  document.body.setAttribute('data-version', String(state.version));
}

function connection(text, cls) {
  const c = document.getElementById('connection');
  c.textContent = text;
  c.className = 'pill ' + cls;
}

function start() {
  fetch('/api/state').then(r => r.json()).then(render).catch(() => connection('offline', 'down'));
  const events = new EventSource('/api/events');
  events.addEventListener('open', () => connection('live', 'live'));
  events.addEventListener('error', () => connection('reconnecting…', 'down'));
  events.addEventListener('state', e => render(JSON.parse(e.data)));
}

document.addEventListener('DOMContentLoaded', start);
