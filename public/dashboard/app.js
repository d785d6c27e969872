/**
 * @module The dashboard page: signs in (admin token in sessionStorage, or Cloudflare Access), reads the read plane,
 * the health plane and the alerts every few seconds, and draws them. Every figure comes from an endpoint; what an
 * endpoint did not answer is shown as unavailable, with the reason, never as a zero.
 */
import {
  describeFailure,
  fleetSummary,
  formatAge,
  formatCount,
  formatMs,
  formatPercent,
  formatRate,
  hasTraffic,
  joinServices,
  RANGES,
  ratio,
  SERVICE_STATES,
  SEVERITIES,
  sortAlerts,
  toChartColumns,
} from './chart-data.js';

const TOKEN_KEY = 'edge-gateway.admin-token';
const REFRESH_MS = 5_000;

// Shapes as well as colours, so no state is told by colour alone (WCAG 1.4.1).
const STATE_ICONS = { healthy: '●', degraded: '▲', down: '■', unknown: '?', unhealthy: '■', closed: '●', open: '■', 'half-open': '▲', disabled: '–' };
const SEVERITY_ICONS = { critical: '■', high: '▲', medium: '◆', low: '●', info: 'i' };
// Line colours with at least 4.5:1 against white, told apart by dash pattern too.
const LINE = { blue: '#0550ae', amber: '#7d4e00', red: '#a40e26' };

const $ = (id) => document.getElementById(id);
const state = {
  range: '15m',
  timer: undefined,
  inFlight: false,
  /** Last rendered JSON per panel: a panel whose data did not change is not touched (no flicker, focus kept). */
  rendered: new Map(),
  /** uPlot instances by "<service>/<chart>", updated in place. */
  charts: new Map(),
};

/** Creates an element; children are nodes or text (never parsed as HTML). */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) element.append(child);
  return element;
}

function badge(kind, value, icon) {
  return h('span', { class: `badge ${kind}-${value}` }, h('span', { 'aria-hidden': 'true' }, `${icon} `), value);
}

// --- fetching -----------------------------------------------------------------------------------------------------

/** GET or POST JSON with the admin token as a bearer token; `{ ok, data }` or `{ ok: false, status, title }`. */
async function call(path, init = {}) {
  const headers = { accept: 'application/json' };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, { ...init, headers, cache: 'no-store', credentials: 'same-origin', redirect: 'error' });
  } catch {
    return { ok: false, status: 0 };
  }
  if (!response.ok) {
    let title;
    try {
      title = (await response.json()).title;
    } catch {
      // not problem+json: the status says enough
    }
    return { ok: false, status: response.status, title };
  }
  try {
    return { ok: true, data: await response.json() };
  } catch {
    return { ok: false, status: response.status, title: 'not JSON' };
  }
}

async function fetchMetrics(range) {
  const result = await call(`/metrics/json?${RANGES[range].query}`);
  // 24 h asks Analytics Engine first; where it is not configured the live sums answer, and the page says so.
  if (!result.ok && range === '24h' && result.status !== 401 && result.status !== 403) {
    const live = await call('/metrics/json?range=24h');
    if (live.ok) live.note = `Analytics Engine did not answer (${describeFailure(result)}); showing the live per-minute sums.`;
    return live;
  }
  return result;
}

// --- refreshing ---------------------------------------------------------------------------------------------------

async function refresh() {
  if (state.inFlight) return;
  state.inFlight = true;
  try {
    const [metrics, health, active, acknowledged] = await Promise.all([
      fetchMetrics(state.range),
      call('/health/services'),
      call('/alerts/alerts?status=active'),
      call('/alerts/alerts?status=acknowledged'),
    ]);
    const results = { metrics, health, active, acknowledged };
    if (Object.values(results).some((result) => !result.ok && result.status === 401)) {
      showSignIn(sessionStorage.getItem(TOKEN_KEY) ? 'The gateway refused this token (401).' : '');
      return;
    }
    showDashboard();
    const alerts = active.ok ? [...active.data.alerts, ...(acknowledged.ok ? acknowledged.data.alerts : [])] : null;
    renderFleet(metrics, health, active, acknowledged.ok ? acknowledged.data.alerts.length : null);
    renderAlerts(active, alerts);
    renderServices(metrics, health, alerts);
    renderStatus(results);
  } finally {
    state.inFlight = false;
  }
}

function schedule() {
  clearInterval(state.timer);
  state.timer = setInterval(refresh, REFRESH_MS);
}

function renderStatus(results) {
  const labels = { metrics: 'metrics', health: 'health', active: 'alerts', acknowledged: 'acknowledged alerts' };
  const failures = Object.entries(results)
    .filter(([, result]) => !result.ok)
    .map(([name, result]) => `${labels[name]}: ${describeFailure(result)}`);
  const time = new Date().toLocaleTimeString('en-GB');
  const status = $('refresh-status');
  const parts = [h('span', {}, `Last refreshed ${time}, every ${REFRESH_MS / 1000} s.`)];
  if (failures.length) parts.push(h('span', { class: 'fetch-failed' }, ` ⚠ ${failures.length} of 4 fetches failed: ${failures.join('; ')}.`));
  status.replaceChildren(...parts);
  status.dataset.failures = String(failures.length);
}

/** Replaces a panel's content only when its data changed. */
function renderPanel(id, data, build) {
  const signature = JSON.stringify(data);
  if (state.rendered.get(id) === signature) return;
  state.rendered.set(id, signature);
  $(id).replaceChildren(...build());
}

function unavailable(what, result) {
  return h('p', { class: 'unavailable' }, h('span', { 'aria-hidden': 'true' }, '⚠ '), `${what} unavailable: ${describeFailure(result)}`);
}

// --- fleet summary ------------------------------------------------------------------------------------------------

function tile(name, label, value, detail) {
  return h('div', { class: 'tile', 'data-figure': name }, h('div', { class: 'tile-label' }, label), h('div', { class: 'tile-value' }, value), detail ? h('div', { class: 'tile-detail' }, detail) : null);
}

function renderFleet(metrics, health, active, acknowledgedCount) {
  const summary = fleetSummary(metrics.ok ? metrics.data : null, health.ok ? health.data : null, active.ok ? active.data.alerts : null);
  renderPanel('fleet', { summary, acknowledgedCount, metrics: metrics.status, health: health.status, active: active.status, range: state.range }, () => {
    const tiles = [];
    const { traffic } = summary;
    const rangeLabel = RANGES[state.range].label;
    if (!traffic) tiles.push(tile('traffic', 'Traffic', 'unavailable', describeFailure(metrics)));
    else if (traffic.requests === 0) tiles.push(tile('traffic', `Requests, last ${rangeLabel}`, 'no traffic yet'));
    else {
      tiles.push(tile('requests', `Requests, last ${rangeLabel}`, formatCount(traffic.requests)));
      tiles.push(tile('requests-per-second', 'Requests/s (average)', formatRate(traffic.requestsPerSecond)));
      tiles.push(tile('error-rate', 'Error rate', formatPercent(traffic.errorRate), `${formatCount(traffic.errors)} errors`));
      tiles.push(tile('rate-limited', 'Rate limited (429)', formatCount(traffic.rateLimited)));
    }
    if (!summary.services) tiles.push(tile('services', 'Services', 'unavailable', describeFailure(health)));
    else {
      const present = SERVICE_STATES.filter((s) => summary.services[s] > 0);
      const value = present.length
        ? h('span', { class: 'badges' }, ...present.map((s) => h('span', { class: 'count', 'data-state': s }, badge('state', s, STATE_ICONS[s]), ` ${summary.services[s]}`)))
        : 'none reported';
      tiles.push(tile('services', 'Services', value));
    }
    if (!summary.alerts) tiles.push(tile('alerts', 'Active alerts', 'unavailable', describeFailure(active)));
    else {
      const total = SEVERITIES.reduce((sum, s) => sum + summary.alerts[s], 0);
      const bySeverity = SEVERITIES.filter((s) => summary.alerts[s] > 0).map((s) => `${summary.alerts[s]} ${s}`);
      // Acknowledged alerts are still open (listed below): "none" alone would read as all clear.
      if (acknowledgedCount) bySeverity.push(`${formatCount(acknowledgedCount)} acknowledged`);
      tiles.push(tile('alerts', 'Active alerts', total === 0 ? 'none' : String(total), bySeverity.join(', ') || undefined));
    }
    return tiles;
  });
}

// --- alerts -------------------------------------------------------------------------------------------------------

async function alertAction(alert, action) {
  const result = await call(`/alerts/alerts/${encodeURIComponent(alert.id)}/${action}`, { method: 'POST' });
  $('alert-action-error').textContent = result.ok ? '' : `Could not ${action} "${alert.rule}" on ${alert.service}: ${describeFailure(result)}`;
  await refresh();
}

function renderAlerts(active, alerts) {
  renderPanel('alerts', { alerts, status: active.status }, () => {
    if (!alerts) return [unavailable('Alerts', active)];
    if (alerts.length === 0) return [h('p', { class: 'empty' }, 'No active or acknowledged alerts.')];
    const now = Date.now();
    const rows = sortAlerts(alerts).map((alert) =>
      h(
        'tr',
        { 'data-alert': alert.id, 'data-status': alert.status },
        // data-label: the column's name, shown beside each cell where narrow screens stack the row (dashboard.css).
        h('td', { 'data-label': 'Severity' }, badge('severity', alert.severity, SEVERITY_ICONS[alert.severity] ?? '?')),
        h('td', { 'data-label': 'Service' }, alert.service),
        h('td', { 'data-label': 'Rule' }, h('strong', {}, alert.rule), h('br'), alert.message),
        h('td', { class: 'num', 'data-label': 'Value' }, `${alert.value} (threshold ${alert.threshold})`),
        h('td', { 'data-label': 'Fired' }, h('time', { datetime: new Date(alert.firedAt).toISOString(), title: new Date(alert.firedAt).toISOString() }, formatAge(alert.firedAt, now))),
        h('td', { class: 'alert-status', 'data-label': 'Status' }, alert.status === 'acknowledged' ? `acknowledged${alert.acknowledgedBy ? ` by ${alert.acknowledgedBy}` : ''}` : 'active'),
        h(
          'td',
          { class: 'actions', 'data-label': 'Actions' },
          alert.status === 'active'
            ? h('button', { type: 'button', 'aria-label': `Acknowledge ${alert.rule} on ${alert.service}`, onclick: (event) => ((event.currentTarget.disabled = true), alertAction(alert, 'acknowledge')) }, 'Acknowledge')
            : null,
          h('button', { type: 'button', 'aria-label': `Resolve ${alert.rule} on ${alert.service}`, onclick: (event) => ((event.currentTarget.disabled = true), alertAction(alert, 'resolve')) }, 'Resolve'),
        ),
      ),
    );
    const head = h('tr', {}, ...['Severity', 'Service', 'Rule', 'Value', 'Fired', 'Status', 'Actions'].map((label) => h('th', { scope: 'col' }, label)));
    return [h('div', { class: 'table-scroll' }, h('table', { class: 'alerts stack-narrow' }, h('thead', {}, head), h('tbody', {}, ...rows)))];
  });
}

// --- services -----------------------------------------------------------------------------------------------------

const CHARTS = {
  requests: { title: 'Requests/s', series: [{ label: 'requests/s', stroke: LINE.blue, width: 2 }], unit: (v) => formatRate(v) },
  errors: { title: 'Error rate (%)', series: [{ label: 'error rate %', stroke: LINE.red, width: 2 }], unit: (v) => `${v.toFixed(1)}%` },
  latency: {
    title: 'Latency (ms)',
    series: [
      { label: 'p50', stroke: LINE.blue, width: 2 },
      { label: 'p95', stroke: LINE.amber, width: 2, dash: [6, 4] },
      { label: 'p99', stroke: LINE.red, width: 2, dash: [2, 3] },
    ],
    unit: (v) => formatMs(v),
  },
};

function chartDescription(kind, columns) {
  const values = columns[1].filter((v) => v !== null);
  if (values.length === 0) return `${CHARTS[kind].title}: nothing measured in this range`;
  const last = values[values.length - 1];
  return `${CHARTS[kind].title}: latest ${CHARTS[kind].unit(last)}, peak ${CHARTS[kind].unit(Math.max(...values))}`;
}

function drawChart(holder, key, kind, columns) {
  const width = Math.max(240, holder.clientWidth || 320);
  holder.setAttribute('aria-label', chartDescription(kind, columns));
  const existing = state.charts.get(key);
  if (existing && existing.root.isConnected) {
    existing.setData(columns);
    return;
  }
  if (typeof globalThis.uPlot !== 'function') {
    holder.textContent = 'Chart library did not load.';
    return;
  }
  const chart = new globalThis.uPlot(
    {
      width,
      height: 150,
      series: [{}, ...CHARTS[kind].series.map((s) => ({ ...s, spanGaps: false }))],
      scales: { x: { time: true }, y: { range: (_u, min, max) => [0, Math.max(max ?? 0, kind === 'errors' ? 1 : 0.1)] } },
      axes: [{ stroke: '#24292f' }, { stroke: '#24292f', size: 56 }],
      legend: { live: true },
    },
    columns,
    holder,
  );
  state.charts.set(key, chart);
}

function serviceCard(row) {
  const card = h('article', { class: 'service', 'data-service': row.name, 'aria-labelledby': `service-${row.name}` });
  card.append(
    h('h3', { id: `service-${row.name}` }, row.name),
    h('div', { class: 'service-summary' }),
    h('p', { class: 'empty', hidden: true }),
    h('div', { class: 'charts' }, ...Object.keys(CHARTS).map((kind) => h('figure', { class: 'chart', 'data-chart': kind }, h('figcaption', {}, CHARTS[kind].title), h('div', { class: 'plot', role: 'img' })))),
    h('div', { class: 'instances' }),
  );
  return card;
}

function renderServices(metrics, health, alerts) {
  const container = $('services');
  $('metrics-source').textContent = metrics.ok
    ? `Figures: ${metrics.data.source === 'analytics' ? 'Workers Analytics Engine' : 'live per-minute sums'}, last ${RANGES[state.range].label}, per minute. ${metrics.note ?? ''}`
    : `Metrics unavailable: ${describeFailure(metrics)}.`;
  const rows = joinServices(metrics.ok ? metrics.data : null, health.ok ? health.data : null, alerts);
  if (rows.length === 0) {
    renderPanel('services', { empty: true, metrics: metrics.status, health: health.status }, () => [
      metrics.ok || health.ok ? h('p', { class: 'empty' }, 'No services reported yet.') : unavailable('Services', metrics.ok ? health : metrics),
    ]);
    return;
  }
  if (state.rendered.get('services')?.startsWith('{"empty"')) container.replaceChildren();
  state.rendered.set('services', '[cards]');
  const now = Date.now();
  const seen = new Set();
  for (const row of rows) {
    seen.add(row.name);
    let card = container.querySelector(`article[data-service="${CSS.escape(row.name)}"]`);
    if (!card) {
      card = serviceCard(row);
      container.append(card);
    }
    updateCard(card, row, metrics, health, now);
  }
  for (const card of container.querySelectorAll('article[data-service]')) {
    if (!seen.has(card.dataset.service)) {
      for (const kind of Object.keys(CHARTS)) state.charts.get(`${card.dataset.service}/${kind}`)?.destroy();
      card.remove();
    }
  }
}

function updateCard(card, row, metrics, health, now) {
  const m = row.metrics;
  const summary = card.querySelector('.service-summary');
  const parts = [];
  if (row.health) parts.push(h('span', { 'data-field': 'health' }, 'Health ', badge('state', row.health.status, STATE_ICONS[row.health.status] ?? '?')));
  if (m) {
    parts.push(h('span', { 'data-field': 'breaker' }, 'Breaker ', badge('breaker', m.breaker, STATE_ICONS[m.breaker] ?? '?')));
    parts.push(h('span', { 'data-field': 'requests' }, `${formatCount(m.totals.requests)} requests`));
    parts.push(h('span', { 'data-field': 'errors' }, `${formatCount(m.totals.errors)} errors (${formatPercent(ratio(m.totals.errors, m.totals.timedRequests))})`));
    parts.push(h('span', { 'data-field': 'rate-limited' }, `${formatCount(m.totals.rateLimited)} rate limited`));
  } else {
    parts.push(h('span', {}, `metrics unavailable: ${describeFailure(metrics)}`));
  }
  if (row.alerts && row.alerts.length) parts.push(h('span', { 'data-field': 'alerts' }, `${row.alerts.length} alert${row.alerts.length > 1 ? 's' : ''}`));
  const summarySignature = JSON.stringify([row.health?.status, m?.breaker, m?.totals, row.alerts?.length, metrics.status]);
  if (summary.dataset.signature !== summarySignature) {
    summary.dataset.signature = summarySignature;
    summary.replaceChildren(...parts);
  }

  const empty = card.querySelector('.empty');
  const charts = card.querySelector('.charts');
  if (m && hasTraffic(m)) {
    empty.hidden = true;
    charts.hidden = false;
    const columns = toChartColumns(m.series);
    for (const kind of Object.keys(CHARTS)) drawChart(charts.querySelector(`[data-chart="${kind}"] .plot`), `${row.name}/${kind}`, kind, columns[kind]);
  } else {
    charts.hidden = true;
    empty.hidden = false;
    empty.textContent = m ? `No traffic yet in the last ${RANGES[state.range].label}.` : 'No figures: metrics unavailable.';
  }

  const instances = card.querySelector('.instances');
  const instanceRows = row.health?.instances ?? [];
  const signature = JSON.stringify([instanceRows, m?.instances, Math.floor(now / 5_000), health.status]);
  if (instances.dataset.signature === signature) return;
  instances.dataset.signature = signature;
  if (!row.health) {
    instances.replaceChildren(health.ok ? h('p', { class: 'empty' }, 'No health checks for this service.') : unavailable('Instance health', health));
    return;
  }
  const head = h('tr', {}, ...['Instance', 'Status', 'Last check', 'Check latency', 'Failures in a row', 'In flight'].map((label) => h('th', { scope: 'col' }, label)));
  const body = instanceRows.map((instance) => {
    const live = m?.instances.find((i) => i.id === instance.id);
    return h(
      'tr',
      { 'data-instance': instance.id, 'data-status': instance.status },
      h('th', { scope: 'row' }, instance.id, h('div', { class: 'url' }, instance.url)),
      h('td', { 'data-label': 'Status' }, badge('state', instance.status, STATE_ICONS[instance.status] ?? '?'), live?.ejected ? ' (ejected)' : ''),
      h('td', { 'data-label': 'Last check' }, instance.lastCheckAt === null ? 'never' : h('time', { datetime: new Date(instance.lastCheckAt).toISOString() }, formatAge(instance.lastCheckAt, now))),
      h('td', { class: 'num', 'data-label': 'Check latency' }, formatMs(instance.latencyMs)),
      h('td', { class: 'num', 'data-label': 'Failures in a row' }, String(instance.consecutiveFailures)),
      h('td', { class: 'num', 'data-label': 'In flight' }, live ? String(live.inFlight) : '–'),
    );
  });
  instances.replaceChildren(h('div', { class: 'table-scroll' }, h('table', { class: 'instances-table stack-narrow' }, h('caption', {}, `Instances of ${row.name}`), h('thead', {}, head), h('tbody', {}, ...body))));
}

// --- sign-in and start ----------------------------------------------------------------------------------------------

function showSignIn(message) {
  clearInterval(state.timer);
  $('sign-in').hidden = false;
  $('main').hidden = true;
  $('controls').hidden = true;
  $('sign-in-error').textContent = message;
  $('refresh-status').textContent = message ? 'Signed out.' : 'Sign in to see the figures.';
  if (message) sessionStorage.removeItem(TOKEN_KEY);
  $('admin-token').focus();
}

function showDashboard() {
  if (!$('main').hidden) return;
  $('sign-in').hidden = true;
  $('main').hidden = false;
  $('controls').hidden = false;
  schedule();
}

function start() {
  $('sign-in-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = $('admin-token');
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    input.value = '';
    $('sign-in-error').textContent = '';
    refresh();
  });
  $('sign-out').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    for (const chart of state.charts.values()) chart.destroy();
    state.charts.clear();
    state.rendered.clear();
    for (const id of ['fleet', 'alerts', 'services']) $(id).replaceChildren();
    showSignIn('');
  });
  $('range').addEventListener('change', (event) => {
    state.range = event.target.value;
    refresh();
  });
  $('refresh-now').addEventListener('click', () => refresh());
  let resizeTimer;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const chart of state.charts.values()) chart.setSize({ width: Math.max(240, chart.root.parentElement.clientWidth), height: 150 });
    }, 150);
  });
  refresh();
}

start();
