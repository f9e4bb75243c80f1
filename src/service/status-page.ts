/**
 * The status page: one HTML document, no external assets and no data, so it is served without a
 * key. It asks for an API key (kept in sessionStorage, so it lasts as long as the tab), polls
 * /v0/status once a second with it as a Bearer header, and shows pipelines, their connectors and
 * counters, a records/s chart drawn on a canvas, and the recent errors. A 401 asks for the key again.
 */
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Spillway</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#1d2433}h1{font-size:20px}h2{font-size:16px;margin-top:24px}
table{border-collapse:collapse;min-width:640px}th,td{border-bottom:1px solid #dde;padding:4px 10px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}.Running{color:#137333}.Failed{color:#b3261e}.Shutdown{color:#666}
#errors li{color:#b3261e}canvas{border:1px solid #dde}
</style></head>
<body><h1>Spillway</h1>
<form id="login" hidden><label>API key <input id="key" type="password" autocomplete="off" size="48"></label> <button type="submit">Open</button> <span id="login-error"></span></form>
<div id="updated">loading…</div>
<h2>Pipelines</h2><table id="pipelines"><thead><tr><th>pipeline</th><th>state</th><th>connector</th><th>topic</th><th>records</th><th>bytes</th><th>queued</th><th>records/s</th></tr></thead><tbody></tbody></table>
<h2>Records per second</h2><canvas id="chart" width="640" height="160"></canvas>
<h2>Connectors</h2><ul id="connectors"></ul>
<h2>Recent errors</h2><ul id="errors"></ul>
<script>
const samples = [];
let last;
const cell = (text, cls) => { const td = document.createElement('td'); td.textContent = String(text); if (cls) td.className = cls; return td; };
function draw() {
  const canvas = document.getElementById('chart'); const g = canvas.getContext('2d');
  g.clearRect(0, 0, canvas.width, canvas.height);
  const peak = Math.max(1, ...samples); const max = peak * 1.25;
  g.strokeStyle = '#1a73e8'; g.lineWidth = 2; g.beginPath();
  samples.forEach((v, i) => { const x = (i / 59) * canvas.width; const y = canvas.height - (v / max) * (canvas.height - 10) - 5; i ? g.lineTo(x, y) : g.moveTo(x, y); });
  g.stroke(); g.fillStyle = '#333'; g.fillText('peak ' + peak.toFixed(0) + ' records/s', 6, 12);
}
const KEY = 'spillway.apiKey';
function askForKey(message) {
  document.getElementById('login').hidden = false;
  document.getElementById('login-error').textContent = message;
  document.getElementById('updated').textContent = 'an API key is needed';
}
document.getElementById('login').addEventListener('submit', (event) => {
  event.preventDefault();
  const key = document.getElementById('key').value.trim();
  if (!key) return;
  sessionStorage.setItem(KEY, key);
  document.getElementById('key').value = '';
  document.getElementById('login').hidden = true;
  refresh();
});
async function refresh() {
  const key = sessionStorage.getItem(KEY);
  if (!key) { askForKey(''); return; }
  const response = await fetch('/v0/status', { headers: { Authorization: 'Bearer ' + key } });
  if (response.status === 401) { sessionStorage.removeItem(KEY); askForKey('that key was refused'); return; }
  if (!response.ok) { document.getElementById('updated').textContent = 'status ' + response.status; return; }
  const status = await response.json();
  const now = Date.parse(status.time);
  const body = document.querySelector('#pipelines tbody'); body.replaceChildren();
  let total = 0; const rates = {};
  for (const p of status.pipelines) {
    const connectors = p.connectors.length ? p.connectors : [null];
    for (const c of connectors) {
      const tr = document.createElement('tr');
      const key = p.name + '/' + (c ? c.name : '');
      const records = c ? c.metrics.records : 0; total += records;
      const before = last && last.records[key];
      const rate = before === undefined ? 0 : (records - before) / Math.max(0.001, (now - last.time) / 1000);
      rates[key] = records;
      tr.append(cell(p.name), cell(p.state.current_status, p.state.current_status), cell(c ? c.name : '—'), cell(c ? c.topic : ''),
        cell(records, 'n records'), cell(c ? c.metrics.bytes : 0, 'n'), cell(c ? c.metrics.queued : 0, 'n'), cell(rate.toFixed(1), 'n'));
      tr.dataset.connector = key; body.append(tr);
    }
  }
  if (last) samples.push(Math.max(0, (total - last.total) / Math.max(0.001, (now - last.time) / 1000)));
  while (samples.length > 60) samples.shift();
  last = { time: now, total, records: rates };
  document.getElementById('connectors').replaceChildren(...status.connectors.map((c) => { const li = document.createElement('li'); li.textContent = c.name + (c.description ? ' — ' + c.description : ''); return li; }));
  document.getElementById('errors').replaceChildren(...status.errors.slice(-20).reverse().map((e) => { const li = document.createElement('li'); li.textContent = e.time + ' ' + e.pipeline + (e.connector ? '/' + e.connector : '') + ': ' + e.message; return li; }));
  document.getElementById('updated').textContent = 'updated ' + status.time;
  draw();
}
refresh(); setInterval(refresh, 1000);
</script></body></html>`;

export function statusPage(): string {
  return PAGE;
}
