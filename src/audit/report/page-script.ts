/**
 * The page's only script (inline, allowed by its hash in the page's Content-Security-Policy). It
 * reads the report from the `#audit-data` JSON block (see page-data.ts) and only ever writes text
 * with `textContent` and links with an `http(s)` check, so nothing from a token or span becomes
 * markup. It adds: labels (`exec_act`, issuer, time) on the nodes in view once the zoom makes them
 * readable (labelling all 10,000 nodes of a large report up front costs Chromium seconds); selecting
 * a node shows all it carries in `#details`; clicking a finding highlights its tasks and scrolls to
 * the first; zoom buttons and Ctrl+wheel zoom. When done it sets `data-ready` on `<html>`.
 */
// String.raw: the script's regular expressions and escapes reach the page exactly as written.
export const PAGE_SCRIPT = String.raw`(() => {
'use strict';
const data = JSON.parse(document.getElementById('audit-data').textContent);
const svg = document.getElementById('dag');
const pane = document.getElementById('graph-pane');
const details = document.getElementById('details');
const findingsList = document.getElementById('findings');
const nodeEls = svg.querySelectorAll('g.node');
const edgeEls = svg.querySelectorAll('.edges path');
const SVG_NS = 'http://www.w3.org/2000/svg';
const LABEL_ZOOM = 0.45;
const str = (i) => (i === -1 || i === null || i === undefined ? undefined : data.strings[i]);
const indexOfJti = new Map();
data.nodes.forEach((node, i) => indexOfJti.set(node[0], i));
function decode(i) {
  const n = data.nodes[i];
  const s = n[13];
  const span = s && {
    traceId: str(s[0]), spanId: s[1], parentSpanId: s[2] === null ? undefined : s[2], name: str(s[3]),
    kind: str(s[4]), status: str(s[5]), service: str(s[6]), start: s[7], end: s[8], url: s[9] === null ? undefined : s[9],
  };
  return {
    jti: n[0], iss: str(n[1]), wid: str(n[2]), execAct: str(n[3]), iat: n[4] === null ? undefined : n[4],
    exp: n[5] === null ? undefined : n[5], pred: n[6].map((p) => (typeof p === 'number' ? data.nodes[p][0] : p)),
    inpHash: n[7] === null ? undefined : n[7], outHash: n[8] === null ? undefined : n[8], kid: str(n[9]),
    verdict: str(n[10]), ledgerIndex: n[11] === null ? undefined : n[11], findings: n[12], span,
    link: span ? (data.jaeger ? data.jaeger + '/trace/' + encodeURIComponent(span.traceId) + '?uiFind=' + encodeURIComponent(span.spanId) : span.url) : undefined,
  };
}
function clip(value, max) {
  const chars = Array.from(value);
  return chars.length <= max ? value : chars.slice(0, max - 1).join('') + '\u2026';
}
function shortIssuer(iss) {
  if (!iss) return '';
  const trimmed = iss.replace(/\/+$/, '');
  const slash = trimmed.lastIndexOf('/');
  return slash >= 0 && slash < trimmed.length - 1 ? trimmed.slice(slash + 1) : trimmed;
}
const labelled = new Uint8Array(data.nodes.length);
function svgText(className, y, value) {
  const t = document.createElementNS(SVG_NS, 'text');
  t.setAttribute('class', className);
  t.setAttribute('x', '10');
  t.setAttribute('y', String(y));
  t.textContent = value;
  return t;
}
function labelNode(i) {
  labelled[i] = 1;
  const n = data.nodes[i];
  const act = str(n[3]);
  const title = act !== undefined ? act : (str(n[10]) === 'missing' ? 'missing ' : '') + n[0];
  const time = n[4] && /T(\d\d:\d\d:\d\d(?:\.\d+)?)/.exec(n[4]);
  const sub = [shortIssuer(str(n[1])), time ? time[1] : ''].filter(Boolean).join(' \u00b7 ');
  nodeEls[i].append(svgText('act', 20, clip(title, 26)), svgText('sub', 37, clip(sub, 32)));
}
let labelQueued = false;
function labelVisible() {
  labelQueued = false;
  svg.classList.toggle('far', zoom < LABEL_ZOOM);
  if (zoom < LABEL_ZOOM) return;
  const x0 = pane.scrollLeft / zoom - 200, y0 = pane.scrollTop / zoom - 100;
  const x1 = (pane.scrollLeft + pane.clientWidth) / zoom + 200, y1 = (pane.scrollTop + pane.clientHeight) / zoom + 100;
  const b = data.boxes;
  for (let i = 0; i < data.nodes.length; i++) {
    if (labelled[i]) continue;
    const x = b[4 * i], y = b[4 * i + 1];
    if (x + b[4 * i + 2] >= x0 && x <= x1 && y + b[4 * i + 3] >= y0 && y <= y1) labelNode(i);
  }
}
function queueLabels() {
  if (labelQueued) return;
  labelQueued = true;
  requestAnimationFrame(labelVisible);
}
pane.addEventListener('scroll', queueLabels, { passive: true });
const width = Number(svg.getAttribute('width'));
const height = Number(svg.getAttribute('height'));
let zoom = 1;
let marked = [];
let selected = -1;

function setZoom(next, focusX, focusY) {
  const clamped = Math.min(4, Math.max(0.02, next));
  const fx = focusX === undefined ? pane.clientWidth / 2 : focusX;
  const fy = focusY === undefined ? pane.clientHeight / 2 : focusY;
  const gx = (pane.scrollLeft + fx) / zoom;
  const gy = (pane.scrollTop + fy) / zoom;
  zoom = clamped;
  svg.style.width = width * zoom + 'px';
  svg.style.height = height * zoom + 'px';
  pane.scrollLeft = gx * zoom - fx;
  pane.scrollTop = gy * zoom - fy;
  queueLabels();
}
function fit() {
  setZoom(Math.min(1, (pane.clientWidth - 16) / width));
  pane.scrollLeft = 0;
  pane.scrollTop = 0;
}
document.getElementById('zoom-in').addEventListener('click', () => setZoom(zoom * 1.25));
document.getElementById('zoom-out').addEventListener('click', () => setZoom(zoom / 1.25));
document.getElementById('zoom-fit').addEventListener('click', fit);
pane.addEventListener('wheel', (event) => {
  if (!event.ctrlKey && !event.metaKey) return;
  event.preventDefault();
  const rect = pane.getBoundingClientRect();
  setZoom(zoom * (event.deltaY < 0 ? 1.15 : 1 / 1.15), event.clientX - rect.left, event.clientY - rect.top);
}, { passive: false });

function text(tag, value, className) {
  const el = document.createElement(tag);
  el.textContent = value;
  if (className) el.className = className;
  return el;
}
function safeLink(url) {
  return typeof url === 'string' && /^https?:\/\//i.test(url) ? url : undefined;
}
function showNode(i) {
  const node = decode(i);
  details.replaceChildren();
  details.append(text('h2', 'Task'));
  const dl = document.createElement('dl');
  const row = (label, value, code) => {
    if (value === undefined || value === null || value === '') return;
    dl.append(text('dt', label));
    const dd = document.createElement('dd');
    dd.append(code ? text('code', String(value)) : document.createTextNode(String(value)));
    dl.append(dd);
  };
  row('exec_act', node.execAct);
  row('verdict', node.verdict);
  row('jti', node.jti, true);
  row('issuer', node.iss);
  row('wid', node.wid, true);
  row('issued', node.iat);
  row('expires', node.exp);
  row('inp_hash', node.inpHash, true);
  row('out_hash', node.outHash, true);
  row('kid', node.kid, true);
  row('ledger', node.ledgerIndex === undefined ? undefined : '#' + node.ledgerIndex);
  row('pred', node.pred.length === 0 ? 'none (a root)' : node.pred.join(', '), node.pred.length > 0);
  details.append(dl);
  details.append(text('h2', 'Span'));
  if (node.span) {
    const span = document.createElement('dl');
    const spanRow = (label, value, code) => {
      if (value === undefined || value === '') return;
      span.append(text('dt', label));
      const dd = document.createElement('dd');
      dd.append(code ? text('code', String(value)) : document.createTextNode(String(value)));
      span.append(dd);
    };
    spanRow('name', node.span.name);
    spanRow('service', node.span.service);
    spanRow('kind', node.span.kind);
    spanRow('status', node.span.status);
    spanRow('start', node.span.start);
    spanRow('end', node.span.end);
    spanRow('trace', node.span.traceId, true);
    spanRow('span', node.span.spanId, true);
    spanRow('parent', node.span.parentSpanId, true);
    details.append(span);
    const href = safeLink(node.link);
    if (href) {
      const a = text('a', 'Open in Jaeger', 'jaeger-link');
      a.href = href;
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      details.append(a);
    }
  } else {
    details.append(text('p', 'No span was found for this task.', 'empty'));
  }
  if (node.findings.length > 0) {
    details.append(text('h2', 'Findings'));
    const ul = document.createElement('ul');
    for (const f of node.findings) {
      const finding = data.findings[f];
      if (!finding) continue;
      const li = text('li', finding.code + ': ' + finding.message);
      li.dataset.finding = String(f);
      ul.append(li);
    }
    ul.addEventListener('click', (event) => {
      const li = event.target.closest('li[data-finding]');
      if (li) showFinding(Number(li.dataset.finding));
    });
    details.append(ul);
  }
}
function select(i, scroll) {
  if (selected >= 0) nodeEls[selected].classList.remove('sel');
  selected = i;
  nodeEls[i].classList.add('sel');
  showNode(i);
  if (scroll) {
    const box = nodeEls[i].getBoundingClientRect();
    const view = pane.getBoundingClientRect();
    pane.scrollLeft += box.left - view.left - view.width / 2 + box.width / 2;
    pane.scrollTop += box.top - view.top - view.height / 2 + box.height / 2;
  }
}
function showFinding(f) {
  for (const el of marked) el.classList.remove('hl', 'active');
  marked = [];
  const finding = data.findings[f];
  const li = findingsList.querySelector('li[data-finding="' + f + '"]');
  if (li) {
    li.classList.add('active');
    marked.push(li);
  }
  const involved = new Set();
  for (const jti of finding.jtis) {
    const i = indexOfJti.get(jti);
    if (i === undefined) continue;
    involved.add(i);
    nodeEls[i].classList.add('hl');
    marked.push(nodeEls[i]);
  }
  for (const path of edgeEls) {
    if (involved.has(Number(path.dataset.from)) && involved.has(Number(path.dataset.to))) {
      path.classList.add('hl');
      marked.push(path);
    }
  }
  const first = indexOfJti.get(finding.jtis[0]);
  if (first === undefined) return;
  // From the overview of a large audit, go close enough to read the task before centring it.
  if (zoom < LABEL_ZOOM) setZoom(0.8);
  select(first, true);
  queueLabels();
}
svg.addEventListener('click', (event) => {
  const g = event.target.closest('g.node');
  if (g) select(Number(g.dataset.index), false);
});
findingsList.addEventListener('click', (event) => {
  const li = event.target.closest('li[data-finding]');
  if (li) showFinding(Number(li.dataset.finding));
});
findingsList.addEventListener('keydown', (event) => {
  const li = event.target.closest('li[data-finding]');
  if (li && (event.key === 'Enter' || event.key === ' ')) {
    event.preventDefault();
    showFinding(Number(li.dataset.finding));
  }
});
fit();
labelVisible();
document.documentElement.dataset.ready = '1';
})();`;
