/** The supervisor dashboard: one static page; it follows `/api/events` (server-sent snapshots), no reloads. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ovs · cluster</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d232a}
 header{background:#1d232a;color:#fff;padding:10px 18px;display:flex;gap:18px;align-items:baseline}
 header h1{font-size:17px;margin:0} header .muted{color:#aab}
 main{display:grid;grid-template-columns:1fr 1fr;gap:14px;padding:14px}
 section{background:#fff;border-radius:6px;padding:10px 14px;box-shadow:0 1px 2px #0001}
 section.wide{grid-column:1/3} h2{font-size:14px;margin:4px 0 8px;text-transform:uppercase;letter-spacing:.04em;color:#556}
 table{border-collapse:collapse;width:100%} td,th{padding:3px 6px;text-align:left;border-bottom:1px solid #eee;font-size:13px}
 .up{color:#127a2b;font-weight:600} .down{color:#b3261e;font-weight:600} .warn{color:#a15c00}
 .tree{font-family:ui-monospace,monospace;font-size:12px;white-space:pre} .ev{font-family:ui-monospace,monospace;font-size:12px}
 .pill{display:inline-block;padding:0 6px;border-radius:8px;background:#eef;font-size:12px}
</style></head><body>
<header><h1>ovs cluster</h1><span class="muted" id="summary">connecting…</span></header>
<main>
 <section class="wide"><h2>Nodes</h2><table id="nodes"><thead><tr><th>node</th><th>status</th><th>ready</th><th>last heartbeat</th><th>uptime</th><th>restarts</th><th>guid</th></tr></thead><tbody></tbody></table></section>
 <section><h2>Actor trees</h2><div id="trees"></div></section>
 <section><h2>vPools and vDisks</h2><table id="vpools"><thead><tr><th>vPool</th><th>status</th><th>vDisks</th><th>scrub</th><th>I/O</th></tr></thead><tbody></tbody></table><div id="vdisks"></div></section>
 <section><h2>Recent tasks</h2><table id="tasks"><thead><tr><th>when</th><th>node</th><th>task</th><th>outcome</th><th>ms</th></tr></thead><tbody></tbody></table></section>
 <section><h2>Events</h2><div id="events"></div></section>
</main>
<script>
const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
const ago = (ms) => ms == null ? '–' : ms < 10000 ? (ms / 1000).toFixed(1) + ' s ago' : Math.round(ms / 1000) + ' s ago';
const ioText = (x) => x == null ? '–' : 'read ' + Math.round(x.data_read_ps / 1024) + ' KiB/s · write ' + Math.round(x.data_written_ps / 1024) + ' KiB/s · ' + Math.round(x.operations_ps) + ' ops/s';
const scrubText = (x) => x == null ? 'scrub –' : 'last scrub ' + (x.last_scrub ? new Date(x.last_scrub).toLocaleString() : 'never') +
  (x.vdisks_with_work_pending != null ? ' · ' + x.vdisks_with_work_pending + ' vDisks with work' + (x.unknown ? ' · ' + x.unknown + ' unknown' : '') : ' · ' + x.work_pending + ' units pending') +
  (x.running ? ' · <span class="warn">' + (x.running === true ? '' : x.running + ' ') + 'running</span>' : '');
const mdsText = (m) => m == null ? 'MDS –' : m.master == null ? 'no MDS' : 'MDS master ' + esc(m.master) + (m.master_confirmed ? '' : ' <span class="down">(not confirmed)</span>') + ' + ' + m.slaves + ' slaves' +
  (m.max_tlogs_behind == null ? '' : ' · ≤ ' + m.max_tlogs_behind + ' TLogs behind') + (m.unknown ? ' · <span class="down">' + m.unknown + ' not answering</span>' : '');
function render(s) {
  const up = s.nodes.filter((n) => n.status === 'up').length;
  document.getElementById('summary').textContent = up + ' of ' + s.nodes.length + ' nodes up · ' + s.vpools.length + ' vPools · ' + s.vdisks.length + ' vDisks · ' + new Date(s.at).toLocaleTimeString();
  document.querySelector('#nodes tbody').innerHTML = s.nodes.map((n) =>
    '<tr data-node="' + esc(n.name) + '" data-status="' + n.status + '"><td>' + esc(n.name) + '</td><td class="' + n.status + '">' + n.status +
    '</td><td class="' + (n.ready ? 'up' : 'warn') + '">' + (n.ready ? 'ready' : esc(n.reasons.join('; ') || 'not ready')) + '</td><td>' + ago(n.last_seen_ms) +
    '</td><td>' + (n.uptime_s == null ? '–' : n.uptime_s + ' s') + '</td><td>' + n.restarts + '</td><td><code>' + esc(n.storagerouter_guid) + '</code></td></tr>').join('');
  document.getElementById('trees').innerHTML = s.nodes.map((n) => '<div class="node-tree" data-node="' + esc(n.name) + '"><b>' + esc(n.name) + '</b> ' +
    (n.status === 'up' ? '' : '<span class="down">down</span>') + '<div class="tree">' +
    n.tree.map((a) => '  '.repeat(a.path.split('/').length - 1) + esc(a.path.split('/').pop()) + '  <span class="pill">' + a.status + '</span> mailbox ' + (a.mailbox ?? 0) + ' restarts ' + a.restarts).join('\\n') +
    '</div></div>').join('');
  document.querySelector('#vpools tbody').innerHTML = s.vpools.map((v) => '<tr data-vpool="' + esc(v.name) + '"><td>' + esc(v.name) + '</td><td>' + esc(v.status) + '</td><td>' + (v.vdisks ?? 0) + '</td><td class="scrub">' + scrubText(v.scrub) + '</td><td class="io">' + ioText(v.io) + '</td></tr>').join('') || '<tr><td colspan="5">none</td></tr>';
  document.getElementById('vdisks').innerHTML = s.vdisks.map((d) => '<div data-vdisk="' + esc(d.name) + '">' + esc(d.name) + ' · ' + (d.snapshots ?? 0) + ' snapshots · owner ' + esc(d.storagerouter_guid ?? '–') + ' · DTL ' + esc(d.dtl_status ?? 'unknown') + (d.dtl ? ' on ' + esc(d.dtl.host + ':' + d.dtl.port) + ' (' + esc(d.dtl.mode) + (d.dtl.manual ? ', manual' : ', automatic') + ')' : '') +
    ' · <span class="mds">' + mdsText(d.mds) + '</span> · <span class="scrub">' + scrubText(d.scrub) + '</span></div>').join('');
  document.querySelector('#tasks tbody').innerHTML = s.recent_tasks.map((t) => '<tr><td>' + new Date(t.at).toLocaleTimeString() + '</td><td>' + esc(t.node) + '</td><td>' + esc(t.task) +
    '</td><td class="' + (t.ok ? 'up' : 'down') + '">' + (t.ok ? 'ok' : esc(t.error_type)) + '</td><td>' + t.ms.toFixed(1) + '</td></tr>').join('');
  document.getElementById('events').innerHTML = s.events.slice().reverse().map((e) => '<div class="ev">' + new Date(e.at).toLocaleTimeString() + ' ' + esc(e.subject) + ' ' + esc(JSON.stringify(e.data)).slice(0, 160) + '</div>').join('');
}
const es = new EventSource('/api/events');
es.addEventListener('snapshot', (e) => render(JSON.parse(e.data)));
es.onerror = () => { document.getElementById('summary').textContent = 'reconnecting to the agent…'; };
</script></body></html>`;
