// The zcsim dashboard: live charts from /events (a /stats snapshot every 500 ms), the table of
// files with a link per route, and the Compare control (POST /compare, drawn side by side).
// Plain browser JavaScript with uPlot (served from node_modules by the server): no build step.
(() => {
  const ROUTES = ['zerocopy', 'copy', 'stream'];
  const COLORS = { zerocopy: '#4fd1a5', copy: '#f6a04d', stream: '#7aa2f7' };
  const POINTS_MAX = 120; // one minute at 500 ms
  const state = { updates: 0, prev: null, charts: {}, data: {}, throughputMax: 0 };
  window.zcsimDashboard = state;

  const $ = (id) => document.getElementById(id);
  const fmtBytes = (n) => {
    const u = ['B', 'KiB', 'MiB', 'GiB'];
    let i = 0;
    while (n >= 1024 && i < u.length - 1) {
      n /= 1024;
      i++;
    }
    return `${i === 0 ? n : n.toFixed(1)} ${u[i]}`;
  };
  const el = (tag, attrs = {}, text = '') => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text) e.textContent = text;
    return e;
  };

  function makeChart(id, series, opts = {}) {
    const host = $(id);
    const data = [[], ...series.map(() => [])];
    const chart = new uPlot(
      {
        width: Math.max(300, host.clientWidth),
        height: 200,
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            fill: s.fill,
            scale: s.scale ?? 'y',
            points: { show: false },
          })),
        ],
        axes: [
          { stroke: '#8a96a8', grid: { stroke: '#253041' }, ticks: { stroke: '#253041' } },
          {
            stroke: '#8a96a8',
            grid: { stroke: '#253041' },
            ticks: { stroke: '#253041' },
            size: 60,
            values: opts.values,
          },
          // A second scale on the right for a series much larger than the others (free pages).
          ...(opts.right
            ? [{ scale: 'right', side: 1, stroke: opts.right, grid: { show: false }, size: 60 }]
            : []),
        ],
        scales: {
          x: { time: true },
          y: { range: (_u, min, max) => [Math.min(0, min), Math.max(opts.minMax ?? 1, max * 1.1)] },
          right: { range: (_u, min, max) => [Math.min(0, min), Math.max(1, max * 1.1)] },
        },
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
      },
      data,
      host,
    );
    state.charts[id] = chart;
    state.data[id] = data;
    new ResizeObserver(() => chart.setSize({ width: Math.max(300, host.clientWidth), height: 200 })).observe(
      host,
    );
  }

  function push(id, t, values) {
    const data = state.data[id];
    data[0].push(t);
    for (let i = 0; i < values.length; i++) data[i + 1].push(values[i]);
    if (data[0].length > POINTS_MAX) for (const s of data) s.shift();
    state.charts[id].setData(data);
  }

  function setupCharts() {
    const perRoute = ROUTES.map((r) => ({ label: `/${r}`, color: COLORS[r] }));
    makeChart('chart-throughput', perRoute, { values: (_u, ticks) => ticks.map((v) => `${v.toFixed(0)}`) });
    makeChart('chart-copies', perRoute, { minMax: 2 });
    makeChart('chart-sfbufs', [
      { label: 'in use', color: '#4fd1a5', fill: 'rgba(79,209,165,0.12)' },
      { label: 'peak', color: '#8a96a8' },
      { label: 'pool (kva)', color: '#f7768e' },
    ]);
    makeChart(
      'chart-pages',
      [
        { label: 'wired', color: '#f7768e' },
        { label: 'active', color: '#f6a04d' },
        { label: 'inactive', color: '#7aa2f7' },
        { label: 'free (right axis)', color: '#4fd1a5', scale: 'right' },
      ],
      { right: '#4fd1a5' },
    );
    makeChart('chart-mbufs', [
      { label: 'mbufs', color: '#bb9af7' },
      { label: 'clusters', color: '#f6a04d' },
    ]);
    makeChart('chart-tlb', [
      { label: 'shootdowns/s', color: '#f7768e' },
      { label: 'IPIs/s', color: '#bb9af7' },
      { label: 'invlpg local/s', color: '#7aa2f7' },
    ]);
  }

  function onSnapshot(s) {
    const t = Date.now() / 1000;
    const prev = state.prev;
    const dt = prev ? Math.max(0.05, (s.uptime_ms - prev.uptime_ms) / 1000) : 0;
    const k = s.kernel;
    const routes = s.http.routes;
    const rate = (f) =>
      ROUTES.map((r) => (prev ? Math.max(0, (f(routes[r]) - f(prev.http.routes[r])) / dt) : 0));
    const throughput = rate((c) => c.body_bytes).map((b) => b / 1e6);
    state.throughputMax = Math.max(state.throughputMax, ...throughput);
    push('chart-throughput', t, throughput);
    const sent = rate((c) => c.body_bytes + c.header_bytes);
    const copied = rate((c) => c.copied_bytes);
    push(
      'chart-copies',
      t,
      ROUTES.map((_r, i) => (sent[i] > 0 ? copied[i] / sent[i] : null)),
    );
    const sf = k.sfbuf ?? {};
    const kva = s.server.kernel.mapping === 'kva';
    $('sfbuf-note').textContent = kva
      ? `KVA pool of ${sf.nsfbufs} mappings`
      : 'direct map: no pool (in use = pages mapped)';
    push('chart-sfbufs', t, [sf.nsfbufsused ?? 0, sf.nsfbufspeak ?? 0, kva ? sf.nsfbufs : null]);
    const vm = k.vm ?? {};
    push('chart-pages', t, [vm.v_wire_count, vm.v_active_count, vm.v_inactive_count, vm.v_free_count]);
    const mb = k.mbuf ?? {};
    push('chart-mbufs', t, [mb.mbuf?.current ?? 0, mb.mbuf_cluster?.current ?? 0]);
    const d = (key) => (prev ? Math.max(0, ((sf[key] ?? 0) - (prev.kernel.sfbuf?.[key] ?? 0)) / dt) : 0);
    push('chart-tlb', t, [d('shootdowns'), d('ipis'), d('invlpg_local')]);
    renderPills(s);
    renderRoutes(routes);
    $('netstat').textContent = s.netstat;
    state.prev = s;
    state.updates++;
    document.body.dataset.updates = String(state.updates);
  }

  function renderPills(s) {
    const c = s.server.kernel;
    $('pill-mapping').textContent = `mapping ${c.mapping}`;
    $('pill-physmem').textContent =
      `physmem ${fmtBytes(c.physmemBytes)} · ${c.cpuCount} CPUs · sndbuf ${fmtBytes(c.sndbufBytes)}`;
    $('pill-uptime').textContent = `up ${Math.round(s.uptime_ms / 1000)} s`;
    const rest = $('pill-rest');
    rest.textContent = s.atRest ? 'kernel at rest' : `busy: ${s.leaks.length} item(s) in use`;
    rest.className = `pill ${s.atRest ? 'ok' : 'bad'}`;
    rest.title = s.leaks.join('\n');
  }

  function renderRoutes(routes) {
    const body = $('routes').querySelector('tbody');
    body.replaceChildren(
      ...ROUTES.map((r) => {
        const c = routes[r];
        const tr = el('tr');
        tr.append(el('td', { class: `label ${r}` }, `/${r}`));
        for (const v of [c.requests, fmtBytes(c.body_bytes), c.inflight, c.aborted, c.file_changed])
          tr.append(el('td', { class: 'num' }, String(v)));
        tr.append(
          el(
            'td',
            {},
            Object.entries(c.responses)
              .map(([k, n]) => `${k}×${n}`)
              .join('  '),
          ),
        );
        return tr;
      }),
    );
  }

  async function loadFiles() {
    const { files } = await (await fetch('/files')).json();
    const body = $('files').querySelector('tbody');
    body.replaceChildren(
      ...files.map((f) => {
        const tr = el('tr');
        tr.append(el('td', {}, f.name), el('td', { class: 'num' }, fmtBytes(f.sizeBytes)));
        const links = el('td', { class: 'routes-links' });
        for (const r of ROUTES)
          links.append(
            el('a', { class: r, href: `/${r}/${encodeURIComponent(f.name)}`, download: '' }, `/${r}`),
          );
        const cell = el('td');
        const button = el('button', { 'data-file': f.name, class: 'compare-button' }, 'Compare');
        button.addEventListener('click', () => runCompare(f, button));
        cell.append(button);
        tr.append(links, cell);
        return tr;
      }),
    );
  }

  async function runCompare(file, button) {
    const buttons = document.querySelectorAll('.compare-button');
    for (const b of buttons) b.disabled = true;
    $('compare-title').textContent = `${file.name} (${fmtBytes(file.sizeBytes)})`;
    $('compare-status').textContent =
      `loading each route in turn from a child process… (${button.textContent})`;
    $('compare-results').replaceChildren();
    try {
      const r = await fetch('/compare', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ file: file.name }),
      });
      const result = await r.json();
      if (!r.ok) throw new Error(result.error ?? result.message ?? r.statusText);
      drawCompare(result);
    } catch (err) {
      $('compare-status').textContent = `compare failed: ${err.message}`;
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  }

  function drawCompare(result) {
    $('compare-status').textContent =
      `${result.loader} loader, ${result.connections} connections, ${result.durationMs} ms per route`;
    const metrics = [
      { title: 'throughput', key: 'MBps', fmt: (v) => `${v.toFixed(1)} MB/s` },
      { title: 'requests per second', key: 'requestsPerSec', fmt: (v) => v.toFixed(0) },
      { title: 'latency p99', key: 'p99Ms', fmt: (v) => `${v.toFixed(2)} ms` },
      { title: 'bytes copied per byte sent', key: 'copiedPerByte', fmt: (v) => v.toFixed(3) },
    ];
    const wrap = el('div', { class: 'bars', id: 'compare-bars' });
    for (const m of metrics) {
      const max = Math.max(...result.results.map((r) => r[m.key]), 1e-9);
      const block = el('div', { class: 'metric' });
      block.append(el('h3', {}, m.title));
      for (const r of result.results) {
        const row = el('div', { class: 'bar', 'data-route': r.route });
        const track = el('div', { class: 'track' });
        const fill = el('div', { class: `fill ${r.route}` });
        fill.style.width = `${(100 * r[m.key]) / max}%`;
        track.append(fill);
        row.append(
          el('span', { class: `label ${r.route}` }, `/${r.route}`),
          track,
          el('span', { class: 'val' }, m.fmt(r[m.key])),
        );
        block.append(row);
      }
      wrap.append(block);
    }
    $('compare-results').replaceChildren(wrap);
  }

  function connect() {
    const source = new EventSource('/events');
    source.addEventListener('snapshot', (e) => {
      $('pill-live').textContent = 'live';
      $('pill-live').className = 'pill ok';
      onSnapshot(JSON.parse(e.data));
    });
    source.onerror = () => {
      $('pill-live').textContent = 'reconnecting';
      $('pill-live').className = 'pill bad';
    };
  }

  setupCharts();
  loadFiles();
  connect();
})();
