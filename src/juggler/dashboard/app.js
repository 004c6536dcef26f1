// The gateway's dashboard: a juggler 0.7 client (hat.juggler's wire format), a topic table, a
// uPlot time plot of numeric values and an RPC console. No build step, no framework.
(() => {
  const $ = (id) => document.getElementById(id);
  const MAX_POINTS = 240;
  const SAMPLE_MS = 250;
  const MAX_SERIES = 8;
  let state = null;
  let ws = null;
  let nextId = 1;
  const waiting = new Map();
  let parts = [];

  function unescapeToken(token) {
    return token.replace(/~1/g, '/').replace(/~0/g, '~');
  }

  // RFC 6902 add/remove/replace: what juggler servers send.
  function applyPatch(doc, ops) {
    for (const op of ops) {
      if (op.path === '') {
        if (op.op === 'remove') doc = null;
        else doc = op.value;
        continue;
      }
      const tokens = op.path.split('/').slice(1).map(unescapeToken);
      const last = tokens.pop();
      let parent = doc;
      for (const t of tokens) parent = parent[Array.isArray(parent) ? Number(t) : t];
      if (Array.isArray(parent)) {
        const i = last === '-' ? parent.length : Number(last);
        if (op.op === 'add') parent.splice(i, 0, op.value);
        else if (op.op === 'remove') parent.splice(i, 1);
        else parent[i] = op.value;
      } else if (op.op === 'remove') delete parent[last];
      else parent[last] = op.value;
    }
    return doc;
  }

  function send(text) {
    const MAX = 65536;
    for (let pos = 0; pos < text.length || pos === 0; pos += MAX) {
      const more = pos + MAX < text.length;
      ws.send((more ? '1' : '0') + text.slice(pos, pos + MAX));
      if (!more) break;
    }
  }

  function request(name, data) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject({ error: 'NOT_CONNECTED' });
    const id = nextId++;
    send(JSON.stringify({ type: 'request', id, name, data }));
    return new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
  }

  function onMessage(msg) {
    if (msg.type === 'state') {
      state = applyPatch(state, msg.diff);
      render();
    } else if (msg.type === 'response') {
      const w = waiting.get(msg.id);
      if (!w) return;
      waiting.delete(msg.id);
      if (msg.success) w.resolve(msg.data);
      else w.reject(msg.data);
    }
  }

  function connect() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    ws = new WebSocket(`${scheme}://${location.host}/ws`);
    ws.onopen = () => setLink(true);
    ws.onmessage = (event) => {
      const data = String(event.data);
      const type = data[0];
      if (type === '2') ws.send(`3${data.slice(1)}`);
      if (type !== '0' && type !== '1') return;
      parts.push(data.slice(1));
      if (type === '1') return;
      const text = parts.join('');
      parts = [];
      onMessage(JSON.parse(text));
    };
    ws.onclose = () => {
      setLink(false);
      for (const w of waiting.values()) w.reject({ error: 'NOT_CONNECTED' });
      waiting.clear();
      state = null;
      parts = [];
      setTimeout(connect, 2000);
    };
  }

  function setLink(up) {
    $('link').textContent = up ? 'gateway: connected' : 'gateway: disconnected';
    $('link').className = up ? 'up' : 'down';
  }

  function short(value) {
    const text = JSON.stringify(value);
    return text === undefined ? '' : text.length > 200 ? `${text.slice(0, 200)}…` : text;
  }

  const rows = new Map();
  function render() {
    const vsoa = state?.vsoa ?? {};
    $('vsoa').textContent = vsoa.connected ? 'VSOA: connected' : 'VSOA: disconnected';
    $('vsoa').className = vsoa.connected ? 'up' : 'down';
    $('info').textContent = vsoa.info == null ? '' : short(vsoa.info);
    const topics = state?.topics ?? {};
    const body = $('topics').tBodies[0];
    for (const url of Object.keys(topics).sort()) {
      let row = rows.get(url);
      if (!row) {
        row = body.insertRow();
        row.dataset.url = url;
        for (const c of ['url', 'value', 'rate', 'age']) row.insertCell().className = c;
        row.cells[0].textContent = url;
        rows.set(url, row);
        const sorted = [...rows.keys()].sort();
        const next = rows.get(sorted[sorted.indexOf(url) + 1]);
        if (next) body.insertBefore(row, next);
      }
      const text = short(topics[url]);
      if (row.cells[1].textContent !== text) row.cells[1].textContent = text;
    }
    for (const [url, row] of rows) {
      if (!(url in topics)) {
        row.remove();
        rows.delete(url);
      }
    }
  }

  // Rate and age come from the gateway (it sees every publish; the page sees diffs).
  let lastCounts = new Map();
  let lastPoll = 0;
  async function poll() {
    try {
      const res = await fetch('api/topics', { cache: 'no-store' });
      const stats = await res.json();
      const now = performance.now();
      for (const [url, s] of Object.entries(stats)) {
        const row = rows.get(url);
        if (!row) continue;
        const before = lastCounts.get(url);
        if (before !== undefined && lastPoll) {
          row.cells[2].textContent = `${(((s.count - before) * 1000) / (now - lastPoll)).toFixed(1)}/s`;
        }
        row.cells[3].textContent = s.ageMs < 1000 ? `${s.ageMs} ms` : `${(s.ageMs / 1000).toFixed(1)} s`;
      }
      lastCounts = new Map(Object.entries(stats).map(([u, s]) => [u, s.count]));
      lastPoll = now;
    } catch {
      // the gateway is away; the link indicator says so
    }
  }

  // Plot: every numeric topic, and numeric fields of object topics, sampled a few times a second.
  let plot = null;
  let names = [];
  const data = [[]];
  function numericSeries() {
    const out = new Map();
    const topics = state?.topics ?? {};
    for (const url of Object.keys(topics).sort()) {
      const v = topics[url];
      if (typeof v === 'number') out.set(url, v);
      else if (v && typeof v === 'object' && !Array.isArray(v)) {
        for (const [k, x] of Object.entries(v)) if (typeof x === 'number') out.set(`${url}.${k}`, x);
      }
      if (out.size >= MAX_SERIES) break;
    }
    return out;
  }

  const COLORS = ['#0969da', '#cf222e', '#1a7f37', '#8250df', '#bf8700', '#1b7c83', '#e16f24', '#6e7781'];
  function sample() {
    const series = numericSeries();
    const keys = [...series.keys()].slice(0, MAX_SERIES);
    if (keys.join('\n') !== names.join('\n')) {
      names = keys;
      data.length = 1;
      data[0] = [];
      for (let i = 0; i < names.length; i++) data.push([]);
      if (plot) plot.destroy();
      plot = null;
      if (names.length > 0 && window.uPlot) {
        $('plot').textContent = '';
        plot = new window.uPlot(
          {
            width: Math.max(300, $('plot').clientWidth || 800),
            height: 240,
            series: [
              {},
              ...names.map((n, i) => ({ label: n, stroke: COLORS[i % COLORS.length], width: 1.5 })),
            ],
            scales: { x: { time: true } },
          },
          data,
          $('plot'),
        );
      }
    }
    if (!plot) return;
    data[0].push(Date.now() / 1000);
    for (let i = 0; i < names.length; i++) data[i + 1].push(series.get(names[i]) ?? null);
    if (data[0].length > MAX_POINTS) for (const column of data) column.shift();
    plot.setData(data);
  }

  $('rpc').addEventListener('submit', async (event) => {
    event.preventDefault();
    const method = $('rpc-method').value;
    const url = $('rpc-url').value.trim();
    const text = $('rpc-param').value.trim();
    let param = null;
    if (text !== '') {
      try {
        param = JSON.parse(text);
      } catch {
        $('rpc-status').textContent = 'param is not JSON';
        $('rpc-status').className = 'err';
        return;
      }
    }
    $('rpc-status').textContent = '…';
    $('rpc-status').className = '';
    try {
      const reply = await request(`${method} ${url}`, param);
      $('rpc-status').textContent = 'SUCCESS';
      $('rpc-status').className = 'ok';
      $('rpc-reply').textContent = JSON.stringify(reply, null, 2);
    } catch (error) {
      $('rpc-status').textContent = error?.error ?? 'FAILED';
      $('rpc-status').className = 'err';
      $('rpc-reply').textContent = JSON.stringify(error, null, 2);
    }
  });

  connect();
  setInterval(poll, 1000);
  setInterval(sample, SAMPLE_MS);
})();
