// AkkaKube web view. Plain JS, no build step (docs/operations.md#web-view).
// Data: the API's own list + watch for nodes, pods and events (an informer per resource, as client-go's), and the
// read-only /ui/api/ endpoints for control-plane placement and actor trees. Every call carries the bearer token this
// tab keeps in sessionStorage. Lists render only their visible rows, so 1,000 nodes and 10,000 pods stay fast.
'use strict';

const TOKEN_KEY = 'akkakube-token';
const WINDOW_MS = 15 * 60 * 1000;
const $ = (id) => document.getElementById(id);

// ---- session -------------------------------------------------------------------------------------------------
(function takeTokenFromAddress() {
  // The token comes in the fragment (#token=…): browsers never send a fragment to the server or in a Referer.
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
})();

const token = () => sessionStorage.getItem(TOKEN_KEY);

class Unauthorized extends Error {}

async function api(path, init) {
  const headers = { Accept: 'application/json' };
  const t = token();
  if (t) headers.Authorization = 'Bearer ' + t;
  const res = await fetch(path, Object.assign({ headers, cache: 'no-store' }, init || {}));
  if (res.status === 401 || res.status === 403) {
    let msg = res.status + '';
    try { msg = (await res.json()).message || msg; } catch { /* not a Status */ }
    throw new Unauthorized(msg);
  }
  return res;
}

async function apiJson(path) {
  const res = await api(path);
  if (!res.ok) throw new Error(path + ': ' + res.status);
  return res.json();
}

// ---- informers -----------------------------------------------------------------------------------------------
// List (paged) then watch from the list's resourceVersion; a 410 or an ERROR event means re-list, a broken stream
// means re-watch from the last resourceVersion seen.
class Informer {
  constructor(path, slim, onChange) {
    this.path = path; this.slim = slim; this.onChange = onChange;
    this.items = new Map(); this.rv = ''; this.synced = false; this.stopped = false;
  }

  key(o) { return (o.metadata.namespace ? o.metadata.namespace + '/' : '') + o.metadata.name; }

  async list() {
    const items = new Map();
    let cont = '';
    let rv = '';
    do {
      const page = await apiJson(this.path + '?limit=500' + (cont ? '&continue=' + encodeURIComponent(cont) : ''));
      for (const o of page.items || []) items.set(this.key(o), this.slim(o));
      cont = (page.metadata && page.metadata.continue) || '';
      rv = (page.metadata && page.metadata.resourceVersion) || rv;
    } while (cont);
    this.items = items; this.rv = rv; this.synced = true;
    this.onChange();
  }

  async watch() {
    const ctl = new AbortController();
    this.abort = ctl;
    const res = await api(this.path + '?watch=1&allowWatchBookmarks=true&resourceVersion=' + encodeURIComponent(this.rv), { signal: ctl.signal });
    if (res.status === 410) return 'relist';
    if (!res.ok || !res.body) throw new Error('watch ' + this.path + ': ' + res.status);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return 'rewatch';
      buf += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const ev = JSON.parse(line);
        const o = ev.object;
        if (ev.type === 'ERROR') return 'relist';
        if (o && o.metadata && o.metadata.resourceVersion) this.rv = o.metadata.resourceVersion;
        if (ev.type === 'ADDED' || ev.type === 'MODIFIED') this.items.set(this.key(o), this.slim(o));
        else if (ev.type === 'DELETED') this.items.delete(this.key(o));
        else continue;
        this.onChange();
      }
    }
  }

  async run() {
    let needList = true;
    while (!this.stopped) {
      try {
        if (needList) await this.list();
        const next = await this.watch();
        needList = next === 'relist';
      } catch (e) {
        if (e instanceof Unauthorized) { showLogin(e.message); return; }
        setStatus(this.path + ': ' + e.message + ' — retrying');
        needList = !this.synced || needList;
        await sleep(1000);
      }
    }
  }

  stop() { this.stopped = true; if (this.abort) this.abort.abort(); }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- slim objects: keep only what is shown (10,000 pods must fit comfortably) -----------------------------------
const PRESSURE = ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'NetworkUnavailable'];

function slimNode(o) {
  const conds = (o.status && o.status.conditions) || [];
  const ready = conds.find((c) => c.type === 'Ready');
  const labels = o.metadata.labels || {};
  return {
    name: o.metadata.name,
    zone: labels['topology.kubernetes.io/zone'] || '',
    ready: ready ? ready.status : 'Unknown',
    pressure: conds.filter((c) => PRESSURE.includes(c.type) && c.status === 'True').map((c) => c.type),
    taints: ((o.spec && o.spec.taints) || []).map((t) => t.key + (t.value ? '=' + t.value : '') + ':' + t.effect),
    unschedulable: !!(o.spec && o.spec.unschedulable),
  };
}

function slimPod(o) {
  const st = o.status || {};
  const restarts = (st.containerStatuses || []).reduce((n, c) => n + (c.restartCount || 0), 0);
  let phase = st.phase || 'Pending';
  if (o.metadata.deletionTimestamp) phase = 'Terminating';
  return {
    key: o.metadata.namespace + '/' + o.metadata.name,
    phase, restarts, ip: st.podIP || '', node: (o.spec && o.spec.nodeName) || '',
  };
}

function slimEvent(o) {
  const ann = o.metadata.annotations || {};
  const inv = o.involvedObject || o.regarding || {};
  const first = o.firstTimestamp || o.eventTime || o.metadata.creationTimestamp;
  const last = o.lastTimestamp || o.eventTime || first;
  return {
    key: o.metadata.namespace + '/' + o.metadata.name,
    type: o.type || 'Normal', reason: o.reason || '', message: o.message || '',
    object: (inv.kind || '') + '/' + (inv.name || ''),
    first: Date.parse(first) || 0, last: Date.parse(last) || 0,
    chaos: o.reason === 'ChaosRun' ? { fault: ann['akkakube.io/chaos-fault'] || '', recovered: ann['akkakube.io/chaos-recovered'] === 'true' } : null,
  };
}

// ---- virtualised list ------------------------------------------------------------------------------------------
// Renders only the rows in view (+ a margin) into absolutely positioned divs over a spacer of the full height.
class VList {
  constructor(el, rowHeight, cols, renderRow) {
    this.el = el; this.h = rowHeight; this.cols = cols; this.renderRow = renderRow; this.rows = [];
    this.spacer = document.createElement('div');
    this.spacer.className = 'spacer';
    el.appendChild(this.spacer);
    el.addEventListener('scroll', () => this.paint());
  }

  set(rows) { this.rows = rows; this.spacer.style.height = rows.length * this.h + 'px'; this.paint(); }

  paint() {
    const top = this.el.scrollTop;
    const first = Math.max(0, Math.floor(top / this.h) - 5);
    const last = Math.min(this.rows.length, Math.ceil((top + this.el.clientHeight) / this.h) + 5);
    const frag = document.createDocumentFragment();
    for (let i = first; i < last; i++) {
      const div = document.createElement('div');
      div.className = 'row ' + this.cols;
      div.style.top = i * this.h + 'px';
      this.renderRow(div, this.rows[i]);
      frag.appendChild(div);
    }
    for (const old of this.el.querySelectorAll(':scope > .row')) old.remove();
    this.el.appendChild(frag);
  }
}

function cell(parent, text, cls) {
  const s = document.createElement('span');
  s.textContent = text;
  if (cls) s.className = cls;
  parent.appendChild(s);
  return s;
}

// ---- state and rendering ---------------------------------------------------------------------------------------
const view = { zone: '', node: '', member: '' };
let nodes, pods, events;
let placement = null;
const samples = []; // {t, rate, latency} from successive placement reports
let dirty = false;

function schedule() {
  if (dirty) return;
  dirty = true;
  setTimeout(() => { dirty = false; render(); }, 200);
}

let nodeList, podList, eventList, actorList;

function render() {
  if (!nodes) return;
  const nodeArr = [...nodes.items.values()];
  const podArr = [...pods.items.values()];
  const podsPerNode = new Map();
  const phases = {};
  for (const p of podArr) {
    podsPerNode.set(p.node, (podsPerNode.get(p.node) || 0) + 1);
    phases[p.phase] = (phases[p.phase] || 0) + 1;
  }
  const notReady = nodeArr.filter((n) => n.ready !== 'True').length;

  // summary
  const s = $('summary');
  s.textContent = '';
  const part = (label, value, cls) => { const e = document.createElement('span'); e.append(label + ' '); const b = document.createElement('b'); b.textContent = value; if (cls) b.className = cls; e.append(b); s.append(e); return b; };
  part('nodes', nodeArr.length).dataset.testid = 'nodes-total';
  part('NotReady', notReady, notReady ? 'bad' : 'ok').dataset.testid = 'nodes-notready';
  part('pods', podArr.length).dataset.testid = 'pods-total';
  for (const ph of Object.keys(phases).sort()) part(ph, phases[ph], ph === 'Failed' ? 'bad' : '');
  const lastSample = samples[samples.length - 1];
  if (lastSample) {
    part('API req/s', lastSample.rate.toFixed(1));
    part('mean latency', lastSample.latency == null ? '–' : (lastSample.latency * 1000).toFixed(1) + ' ms');
  }

  // zones: aggregated counts only
  const zones = new Map();
  for (const n of nodeArr) {
    const z = zones.get(n.zone) || { nodes: 0, ready: 0, pods: 0 };
    z.nodes++; if (n.ready === 'True') z.ready++; z.pods += podsPerNode.get(n.name) || 0;
    zones.set(n.zone, z);
  }
  const zEl = $('zones');
  zEl.textContent = '';
  for (const name of [...zones.keys()].sort()) {
    const z = zones.get(name);
    const d = document.createElement('div');
    d.className = 'zone' + (view.zone === name ? ' selected' : '');
    d.dataset.testid = 'zone'; d.dataset.name = name;
    const h = document.createElement('h4'); h.textContent = name || '(no zone)'; d.append(h);
    const line = document.createElement('div');
    line.append(`${z.nodes} nodes, `);
    const r = document.createElement('span'); r.textContent = `${z.ready} Ready`; r.className = z.ready === z.nodes ? 'ok' : 'bad'; line.append(r);
    line.append(`, ${z.pods} pods`);
    d.append(line);
    d.addEventListener('click', () => { view.zone = view.zone === name ? '' : name; render(); });
    zEl.append(d);
  }

  // nodes
  const nf = $('node-filter').value.trim().toLowerCase();
  const nodeRows = nodeArr
    .filter((n) => !view.zone || n.zone === view.zone)
    .filter((n) => !nf || [n.name, n.zone, n.ready === 'True' ? 'ready' : 'notready', ...n.taints, ...n.pressure].some((x) => x.toLowerCase().includes(nf)))
    .sort((a, b) => (a.zone + a.name).localeCompare(b.zone + b.name));
  $('nodes-count').textContent = `${nodeRows.length} of ${nodeArr.length}`;
  nodeList.set(nodeRows.map((n) => Object.assign({ pods: podsPerNode.get(n.name) || 0 }, n)));

  // pods
  const pf = $('pod-filter').value.trim().toLowerCase();
  const podRows = podArr
    .filter((p) => !view.node || p.node === view.node)
    .filter((p) => !pf || [p.key, p.phase, p.node, p.ip].some((x) => x.toLowerCase().includes(pf)))
    .sort((a, b) => a.key.localeCompare(b.key));
  $('pods-count').textContent = `${podRows.length} of ${podArr.length}` + (view.node ? ` on ${view.node}` : '');
  podList.set(podRows);

  // events, newest first
  const evs = [...events.items.values()].sort((a, b) => b.last - a.last);
  eventList.set(evs);
  renderTimeline(evs);
}

function renderNodeRow(div, n) {
  div.dataset.testid = 'node-row'; div.dataset.name = n.name;
  if (view.node === n.name) div.classList.add('selected');
  const dot = document.createElement('span');
  const d = document.createElement('i'); d.className = 'dot' + (n.ready === 'True' ? (n.pressure.length ? ' warn' : '') : ' bad'); dot.append(d);
  div.append(dot);
  cell(div, n.name);
  cell(div, n.zone, 'muted');
  const st = n.ready === 'True' ? 'Ready' : 'NotReady';
  cell(div, st + (n.unschedulable ? ',SchedulingDisabled' : ''), 'status ' + (n.ready === 'True' ? 'ok' : 'bad')).dataset.testid = 'node-status';
  cell(div, String(n.pods));
  const t = cell(div, '');
  for (const x of [...n.pressure, ...n.taints]) { const g = document.createElement('span'); g.className = 'tag' + (x.includes('unreachable') || x.includes('not-ready') || x.includes('Pressure') ? ' bad' : ''); g.textContent = x; t.append(g); }
  div.title = n.taints.join('\n');
  div.addEventListener('click', () => { view.node = view.node === n.name ? '' : n.name; render(); });
}

function renderPodRow(div, p) {
  div.dataset.testid = 'pod-row'; div.dataset.name = p.key;
  cell(div, p.key);
  cell(div, p.phase, 'phase ' + (p.phase === 'Running' || p.phase === 'Succeeded' ? 'ok' : p.phase === 'Failed' ? 'bad' : 'warn')).dataset.testid = 'pod-phase';
  cell(div, String(p.restarts), p.restarts ? 'warn' : 'muted');
  cell(div, p.ip);
  cell(div, p.node, 'muted');
}

function renderEventRow(div, e) {
  div.dataset.testid = 'event-row';
  cell(div, new Date(e.last).toLocaleTimeString(), 'muted');
  cell(div, e.type, e.type === 'Warning' ? 'bad' : 'muted');
  cell(div, e.reason);
  cell(div, e.object, 'muted');
  cell(div, e.message).title = e.message;
}

// ---- timeline: events as ticks, chaos runs as shaded windows, API rate and latency as lines -----------------------
const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, parent) {
  const e = document.createElementNS(SVG, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}

function renderTimeline(evs) {
  const el = $('timeline');
  const w = Math.max(300, el.clientWidth || 900), h = 170, now = Date.now(), from = now - WINDOW_MS;
  const x = (t) => ((t - from) / WINDOW_MS) * w;
  const root = svg('svg', { viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: 'none' });
  for (const e of evs) {
    if (!e.chaos || e.last < from) continue;
    const x0 = Math.max(0, x(e.first)), x1 = Math.max(x0 + 2, x(e.last));
    const r = svg('rect', { x: x0, y: 0, width: x1 - x0, height: h - 14, class: 'chaos', 'data-testid': 'chaos-window' }, root);
    svg('title', {}, r).textContent = `chaos ${e.chaos.fault}: ${e.message}`;
    svg('text', { x: Math.min(x0 + 2, w - 90), y: 10, class: 'chaos-label' }, root).textContent = e.chaos.fault + (e.chaos.recovered ? '' : ' (not recovered)');
  }
  for (const e of evs) {
    if (e.last < from || e.chaos) continue;
    svg('line', { x1: x(e.last), x2: x(e.last), y1: 14, y2: 44, class: 'ev-' + e.type }, root);
  }
  const pts = samples.filter((p) => p.t >= from);
  const maxRate = Math.max(1, ...pts.map((p) => p.rate));
  const maxLat = Math.max(0.001, ...pts.map((p) => p.latency || 0));
  const line = (f, max) => pts.filter((p) => f(p) != null).map((p) => `${x(p.t).toFixed(1)},${(h - 16 - (f(p) / max) * (h - 70)).toFixed(1)}`).join(' ');
  if (pts.length > 1) {
    svg('polyline', { points: line((p) => p.rate, maxRate), class: 'rate' }, root);
    svg('polyline', { points: line((p) => p.latency, maxLat), class: 'latency' }, root);
  }
  svg('line', { x1: 0, x2: w, y1: h - 14, y2: h - 14, class: 'axis' }, root);
  for (let m = 0; m <= 15; m += 5) svg('text', { x: m === 15 ? 2 : x(now - m * 60000) - (m === 0 ? 20 : 10), y: h - 2 }, root).textContent = m === 0 ? 'now' : `-${m}m`;
  svg('text', { x: 4, y: h - 18 }, root).textContent = `events ▏ API ${maxRate.toFixed(1)} req/s max (blue) · mean latency ${(maxLat * 1000).toFixed(0)} ms max (amber)`;
  el.replaceChildren(root);
}

// ---- placement and actors (polled: they are not API objects) ---------------------------------------------------
async function pollPlacement() {
  for (;;) {
    try {
      placement = await apiJson('api/placement');
      const t = Date.parse(placement.at) || Date.now();
      const members = placement.members.filter((m) => m.answered);
      const req = members.reduce((n, m) => n + (m.apiRequests || 0), 0);
      const sec = members.reduce((n, m) => n + (m.apiRequestSeconds || 0), 0);
      const cnt = members.reduce((n, m) => n + (m.apiTimedRequests || 0), 0);
      const prev = pollPlacement.prev;
      // Counters restart with a node: a drop is a reset, not a negative rate.
      if (prev && req >= prev.req && t > prev.t) {
        const dc = cnt - prev.cnt;
        samples.push({ t, rate: (req - prev.req) / ((t - prev.t) / 1000), latency: dc > 0 ? (sec - prev.sec) / dc : null });
        while (samples.length && samples[0].t < t - WINDOW_MS) samples.shift();
      }
      pollPlacement.prev = { t, req, sec, cnt };
      renderPlacement();
      schedule();
      setStatus('');
    } catch (e) {
      if (e instanceof Unauthorized) { showLogin(e.message); return; }
      setStatus('placement: ' + e.message);
    }
    await sleep(2000);
  }
}

function renderPlacement() {
  const tbody = $('members').tBodies[0];
  tbody.textContent = '';
  for (const m of placement.members) {
    const tr = document.createElement('tr');
    tr.dataset.testid = 'member'; tr.dataset.name = m.nodeName;
    const td = (text, cls) => { const c = document.createElement('td'); c.textContent = text; if (cls) c.className = cls; tr.append(c); return c; };
    td(m.nodeName).title = m.address;
    td((m.roles || []).join(','), 'muted');
    td(m.zone || '', 'muted');
    td(m.reachable ? m.status : m.status + ' (unreachable)', m.reachable && m.status === 'Up' ? 'ok' : 'bad');
    td(m.answered ? String(m.failures) : '?', m.failures ? 'warn' : 'muted');
    tbody.append(tr);
  }
  const sb = $('singletons').tBodies[0];
  sb.textContent = '';
  for (const name of Object.keys(placement.singletons).sort()) {
    const tr = document.createElement('tr');
    tr.dataset.testid = 'singleton'; tr.dataset.name = name;
    const a = document.createElement('td'); a.textContent = name;
    const b = document.createElement('td'); b.textContent = placement.singletons[name]; b.className = 'host'; b.dataset.testid = 'singleton-host';
    tr.append(a, b); sb.append(tr);
  }
  const byHost = new Map();
  for (const [p, host] of Object.entries(placement.partitions)) byHost.set(host, [...(byHost.get(host) || []), p]);
  const pe = $('partitions');
  pe.textContent = '';
  for (const host of [...byHost.keys()].sort()) {
    const d = document.createElement('div'); d.dataset.testid = 'partition-host'; d.dataset.name = host;
    const h = document.createElement('span'); h.className = 'host'; h.textContent = host + ': ';
    d.append(h);
    for (const p of byHost.get(host).sort()) { const t = document.createElement('span'); t.className = 'tag'; t.textContent = p; d.append(t); }
    pe.append(d);
  }
  // members for the actor tree
  const sel = $('actor-member');
  const wanted = placement.members.filter((m) => m.answered).map((m) => m.address);
  if ([...sel.options].map((o) => o.value).join() !== wanted.join()) {
    sel.textContent = '';
    for (const m of placement.members.filter((x) => x.answered)) {
      const o = document.createElement('option'); o.value = m.address; o.textContent = `${m.nodeName} (${m.address})`; sel.append(o);
    }
    if (wanted.includes(view.member)) sel.value = view.member;
    else { view.member = wanted[0] || ''; loadActors(); }
  }
}

let actorEntries = [];
async function loadActors() {
  if (!view.member) return;
  try {
    const r = await apiJson('api/actors?depth=8&member=' + encodeURIComponent(view.member));
    actorEntries = r.actors;
    $('actors-note').textContent = `${r.nodeName}: ${r.actors.length} actors${r.actorsTruncated ? ' (truncated)' : ''}, ${r.failures} supervised failures since start`;
    renderActors();
  } catch (e) {
    if (e instanceof Unauthorized) { showLogin(e.message); return; }
    $('actors-note').textContent = 'actor tree: ' + e.message;
  }
}

function renderActors() {
  const only = $('actor-failed').checked;
  actorList.set(only ? actorEntries.filter((a) => a.failures > 0) : actorEntries);
}

function renderActorRow(div, a) {
  div.dataset.testid = 'actor-row';
  const depth = a.path.split('/').length - 2;
  const name = a.path.slice(a.path.lastIndexOf('/') + 1);
  const s = cell(div, '');
  s.style.paddingLeft = depth * 12 + 'px';
  s.textContent = name;
  s.title = a.path + (a.lastError ? '\nlast failure: ' + a.lastError : '');
  cell(div, a.children ? `${a.children} children` : '', 'muted');
  cell(div, a.failures ? `${a.failures} failed` : '', a.failures ? 'bad' : 'muted');
}

// ---- shell ------------------------------------------------------------------------------------------------------
function setStatus(text) { $('status').textContent = text; }

let informers = [];
function showLogin(message) {
  for (const i of informers) i.stop();
  informers = [];
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message ? 'Not signed in: ' + message : '';
}

async function start() {
  if (!token()) {
    // A plain-HTTP cluster without tokens checks nothing: try without one before asking for it.
    try { await apiJson('api/whoami'); } catch { showLogin(''); return; }
  }
  let me;
  try { me = await apiJson('api/whoami'); } catch (e) { showLogin(e.message); return; }
  $('who').textContent = me.user;
  $('login').hidden = true;
  $('app').hidden = false;
  nodeList = new VList($('nodes'), 22, 'nodes-cols', renderNodeRow);
  podList = new VList($('pods'), 22, 'pods-cols', renderPodRow);
  eventList = new VList($('events'), 22, 'events-cols', renderEventRow);
  actorList = new VList($('actors'), 22, 'actor-cols', renderActorRow);
  nodes = new Informer('/api/v1/nodes', slimNode, schedule);
  pods = new Informer('/api/v1/pods', slimPod, schedule);
  events = new Informer('/api/v1/events', slimEvent, schedule);
  informers = [nodes, pods, events];
  for (const i of informers) i.run();
  pollPlacement();
  setInterval(() => loadActors(), 10000);
  setInterval(() => schedule(), 5000); // the timeline's clock moves without events too
}

document.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
    location.reload();
  });
  $('logout').addEventListener('click', () => { sessionStorage.removeItem(TOKEN_KEY); location.reload(); });
  $('node-filter').addEventListener('input', schedule);
  $('pod-filter').addEventListener('input', schedule);
  $('actor-member').addEventListener('change', (e) => { view.member = e.target.value; loadActors(); });
  $('actor-failed').addEventListener('change', renderActors);
  start();
});
