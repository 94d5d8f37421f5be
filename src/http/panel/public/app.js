// The zcsim dashboard: live charts from /events (a /stats snapshot every 500 ms; gauges drawn
// with their peak between samples), the table of files with a link per route, the Compare control
// (POST /compare, drawn side by side) and the Trace panel (GET /trace: one request's journey;
// GET /capture.pcapng: the same request on the model's wire).
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

  // Axis numbers with as many decimals as the tick step needs (an idle 0..1 axis reads 0.2, 0.4).
  const decimalsOf = (incr) => {
    for (let d = 0; d < 3; d++) if (Math.abs(Math.round(incr * 10 ** d) - incr * 10 ** d) < 1e-6) return d;
    return 3;
  };
  const tickValues = (_u, ticks, _axis, _space, incr) => {
    const decimals = decimalsOf(incr);
    return ticks.map((v) => (v === 0 ? '0' : v.toFixed(decimals)));
  };
  // Counts (sf_bufs, mbufs, pages, responses) tick on whole numbers only.
  const COUNT_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6];
  const two = (n) => String(n).padStart(2, '0');
  // Whole seconds on the time axis, as a clock shows them.
  const timeValues = (_u, ticks) =>
    ticks.map((t) => {
      const d = new Date(t * 1000);
      return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
    });
  const narrow = () => window.matchMedia('(max-width: 600px)').matches;
  const chartWidth = (host) => Math.max(200, host.clientWidth);

  function makeChart(id, series, opts = {}) {
    const host = $(id);
    const data = [[], ...series.map(() => [])];
    const chart = new uPlot(
      {
        width: chartWidth(host),
        height: narrow() ? 170 : 200,
        series: [
          { value: (_u, t) => (t == null ? '--' : timeValues(null, [t])[0]) },
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: s.dash ? 1.5 : 2,
            dash: s.dash ? [5, 4] : undefined,
            fill: s.fill,
            ...(s.scale ? { scale: s.scale } : {}),
            points: { show: false },
            value: (_u, v) =>
              v == null ? (opts.none ?? '--') : opts.format ? opts.format(v) : String(Math.round(v)),
          })),
        ],
        axes: [
          {
            stroke: '#8a96a8',
            grid: { stroke: '#253041' },
            ticks: { stroke: '#253041' },
            incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300],
            values: timeValues,
            space: 70,
          },
          {
            stroke: '#8a96a8',
            grid: { stroke: '#253041' },
            ticks: { stroke: '#253041' },
            size: 52,
            values: tickValues,
            ...(opts.count ? { incrs: COUNT_INCRS } : {}),
          },
          ...(opts.right
            ? [
                {
                  scale: 'right',
                  side: 1,
                  stroke: opts.right.color,
                  grid: { show: false },
                  ticks: { stroke: '#253041' },
                  size: 52,
                  values: tickValues,
                  incrs: COUNT_INCRS,
                },
              ]
            : []),
        ],
        scales: {
          x: { time: true },
          y: {
            range: (_u, min, max) =>
              opts.range ? opts.range() : [Math.min(0, min), Math.max(opts.minMax ?? 1, max * 1.1)],
          },
          // A second axis (right) for series too small to read on the first one's range.
          ...(opts.right ? { right: { range: (_u, _min, max) => [0, Math.max(8, (max ?? 0) * 1.25)] } } : {}),
        },
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
        hooks: {
          // Away from the cursor the legend shows the latest values, not "--".
          setLegend: [
            (u) => {
              const n = u.data[0].length;
              if (u.legend.idx == null && n > 0) u.setLegend({ idx: n - 1 }, false);
            },
          ],
        },
      },
      data,
      host,
    );
    state.charts[id] = chart;
    state.data[id] = data;
    new ResizeObserver(() =>
      chart.setSize({ width: chartWidth(host), height: narrow() ? 170 : 200 }),
    ).observe(host);
  }

  function push(id, t, values) {
    const data = state.data[id];
    data[0].push(t);
    for (let i = 0; i < values.length; i++) data[i + 1].push(values[i]);
    if (data[0].length > POINTS_MAX) for (const s of data) s.shift();
    const chart = state.charts[id];
    chart.setData(data);
    if (chart.cursor.idx == null) chart.setLegend({ idx: data[0].length - 1 }, false);
  }

  function setupCharts() {
    const perRoute = ROUTES.map((r) => ({ label: `/${r}`, color: COLORS[r] }));
    const mbps = (v) => `${v.toFixed(v < 10 ? 2 : 1)} MB/s`;
    makeChart('chart-throughput', perRoute, { format: mbps });
    makeChart('chart-copies', perRoute, { minMax: 2, format: (v) => v.toFixed(2), none: 'idle' });
    makeChart('chart-memory', perRoute, { minMax: 3, format: (v) => v.toFixed(2), none: 'idle' });
    // Gauges: the value at the sample, and (dashed) the highest it reached since the last one.
    makeChart(
      'chart-sfbufs',
      [
        { label: 'in use', color: '#4fd1a5', fill: 'rgba(79,209,165,0.12)' },
        { label: 'peak', color: '#4fd1a5', dash: true },
        { label: 'pool (kva)', color: '#f7768e' },
      ],
      { count: true },
    );
    makeChart(
      'chart-pages',
      [
        { label: 'wired (right axis)', color: '#f7768e', scale: 'right' },
        { label: 'wired peak', color: '#f7768e', dash: true, scale: 'right' },
        { label: 'active', color: '#f6a04d' },
        { label: 'inactive', color: '#7aa2f7' },
        { label: 'free', color: '#4fd1a5' },
      ],
      // The queues on one axis from 0 to all of physical memory (their true proportions); the
      // wired pages, a few hundred of thousands, on their own axis at the right.
      { range: () => [0, state.physPages || 1], count: true, right: { color: '#f7768e' } },
    );
    makeChart(
      'chart-mbufs',
      [
        { label: 'mbufs', color: '#bb9af7' },
        { label: 'mbufs peak', color: '#bb9af7', dash: true },
        { label: 'clusters', color: '#f6a04d' },
        { label: 'clusters peak', color: '#f6a04d', dash: true },
      ],
      { count: true },
    );
    makeChart(
      'chart-inflight',
      ROUTES.flatMap((r) => [
        { label: `/${r}`, color: COLORS[r] },
        { label: `/${r} peak`, color: COLORS[r], dash: true },
      ]),
      { count: true },
    );
    makeChart(
      'chart-tlb',
      [
        { label: 'shootdowns/s', color: '#f7768e' },
        { label: 'IPIs/s', color: '#bb9af7' },
        { label: 'invlpg local/s', color: '#7aa2f7' },
      ],
      { format: (v) => v.toFixed(0) },
    );
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
    const memRead = rate((c) => c.cpu_read_bytes ?? 0);
    push(
      'chart-memory',
      t,
      ROUTES.map((_r, i) => (sent[i] > 0 ? memRead[i] / sent[i] : null)),
    );
    const sf = k.sfbuf ?? {};
    const peaks = k.peaks ?? {};
    const kva = s.server.kernel.mapping === 'kva';
    $('sfbuf-note').textContent = kva
      ? `KVA pool of ${sf.nsfbufs} mappings; dashed: peak between samples`
      : 'direct map: no pool, nothing to count (every page is mapped)';
    push('chart-sfbufs', t, [sf.nsfbufsused ?? 0, peaks.nsfbufsused ?? 0, kva ? sf.nsfbufs : null]);
    const vm = k.vm ?? {};
    state.physPages = Math.round((s.server.kernel.physmemBytes ?? 0) / 4096);
    push('chart-pages', t, [
      vm.v_wire_count,
      peaks.v_wire_count ?? 0,
      vm.v_active_count,
      vm.v_inactive_count,
      vm.v_free_count,
    ]);
    const mb = k.mbuf ?? {};
    push('chart-mbufs', t, [
      mb.mbuf?.current ?? 0,
      peaks.mbufs ?? 0,
      mb.mbuf_cluster?.current ?? 0,
      peaks.clusters ?? 0,
    ]);
    const inflightPeak = s.http.inflight_peak ?? {};
    push(
      'chart-inflight',
      t,
      ROUTES.flatMap((r) => [routes[r].inflight, inflightPeak[r] ?? 0]),
    );
    const d = (key) => (prev ? Math.max(0, ((sf[key] ?? 0) - (prev.kernel.sfbuf?.[key] ?? 0)) / dt) : 0);
    push('chart-tlb', t, [d('shootdowns'), d('ipis'), d('invlpg_local')]);
    renderPills(s);
    renderRoutes(routes, inflightPeak);
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
    const verdict = restVerdict(s);
    rest.textContent = verdict.text;
    rest.className = `pill ${verdict.tone}`;
    rest.title = s.atRest ? 'nothing held' : `what the kernel holds now:\n${s.leaks.join('\n')}`;
  }

  const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

  /** What the kernel holds, in words: pages wired, sf_bufs, mbufs and clusters in use. */
  function heldWords(k) {
    const words = [];
    const wired = k.vm?.v_wire_count ?? 0;
    if (wired > 0) words.push(`${plural(wired, 'page')} wired`);
    const sf = k.sfbuf?.nsfbufsused ?? 0;
    if (sf > 0) words.push(plural(sf, 'sf_buf'));
    const mbufs = k.mbuf?.mbuf?.current ?? 0;
    if (mbufs > 0) words.push(plural(mbufs, 'mbuf'));
    const clusters = k.mbuf?.mbuf_cluster?.current ?? 0;
    if (clusters > 0) words.push(plural(clusters, 'cluster'));
    return words.length > 0 ? words.join(', ') : 'bytes in socket buffers';
  }

  // Snapshots in a row that held something with no response in flight: one or two are the last
  // write callbacks of a finished download; past this many it is what a leak looks like.
  const HELD_IDLE_SNAPSHOTS = 4;

  /**
   * The at-rest pill: at rest; working (responses in flight hold pages and mbufs: normal work);
   * or, only when something stays held with nothing in flight, a possible leak.
   */
  function restVerdict(s) {
    if (s.atRest) {
      state.heldIdle = 0;
      return { text: 'kernel at rest', tone: 'ok' };
    }
    const inflight = ROUTES.reduce((n, r) => n + s.http.routes[r].inflight, 0);
    const held = heldWords(s.kernel);
    if (inflight > 0) {
      state.heldIdle = 0;
      const verb = inflight === 1 ? 'holds' : 'hold';
      return { text: `working: ${plural(inflight, 'response')} in flight ${verb} ${held}`, tone: 'busy' };
    }
    state.heldIdle = (state.heldIdle ?? 0) + 1;
    if (state.heldIdle < HELD_IDLE_SNAPSHOTS) return { text: `finishing: ${held} still held`, tone: 'busy' };
    return { text: `held with nothing in flight: ${held} (a leak?)`, tone: 'bad' };
  }

  function renderRoutes(routes, inflightPeak) {
    const body = $('routes').querySelector('tbody');
    body.replaceChildren(
      ...ROUTES.map((r) => {
        const c = routes[r];
        const tr = el('tr');
        tr.append(el('td', { class: `label ${r}` }, `/${r}`));
        const inflight = `${c.inflight} / ${inflightPeak[r] ?? 0}`;
        const cells = [
          ['requests', c.requests],
          ['body', fmtBytes(c.body_bytes)],
          ['in flight (now / peak)', inflight],
          ['aborted', c.aborted],
          ['file changed', c.file_changed],
        ];
        for (const [label, v] of cells) tr.append(el('td', { class: 'num', 'data-label': label }, String(v)));
        tr.append(
          el(
            'td',
            { class: 'statuses', 'data-label': 'statuses' },
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
    $('trace-file').replaceChildren(
      ...files.map((f) => el('option', { value: f.name }, `${f.name} (${fmtBytes(f.sizeBytes)})`)),
    );
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
        button.addEventListener('click', () => runCompare(f));
        cell.append(button);
        tr.append(links, cell);
        return tr;
      }),
    );
  }

  async function runCompare(file) {
    const buttons = document.querySelectorAll('.compare-button');
    for (const b of buttons) b.disabled = true;
    $('compare-title').textContent = `${file.name} (${fmtBytes(file.sizeBytes)})`;
    $('compare-status').textContent = `loading ${file.name} on each route in turn from a child process…`;
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
      $('compare-status').textContent = `compare of ${file.name} failed: ${err.message}`;
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  }

  /**
   * The zero-copy route's value against another's, readable at any size: "1.9× /copy" when it is
   * larger or near, "1/250 of /copy" when it is much smaller, "none, /copy 1.000" when it is 0.
   */
  function ratioText(zc, other, route, fmt) {
    if (!(other > 0)) return `– /${route}`;
    if (!(zc > 0)) return `none; /${route} ${fmt(other)}`;
    const ratio = zc / other;
    if (ratio >= 0.95) return `${ratio.toFixed(ratio < 10 ? 1 : 0)}× /${route}`;
    const inverse = other / zc;
    return `1/${inverse < 10 ? inverse.toFixed(1) : Math.round(inverse)} of /${route}`;
  }

  /** "1.9× /copy · 1/250 of /stream": the zero-copy route against each other route. */
  function ratios(results, key, fmt) {
    const zc = results.find((r) => r.route === 'zerocopy');
    if (!zc) return '';
    return results
      .filter((r) => r.route !== 'zerocopy')
      .map((r) => ratioText(zc[key], r[key], r.route, fmt))
      .join(' · ');
  }

  function drawCompare(result) {
    $('compare-status').textContent =
      `${result.file}: ${result.loader} loader, ${result.connections} connections, ${result.durationMs} ms per route`;
    const metrics = [
      { title: 'throughput', key: 'MBps', fmt: (v) => `${v.toFixed(1)} MB/s` },
      { title: 'requests per second', key: 'requestsPerSec', fmt: (v) => v.toFixed(0) },
      { title: 'latency p50', key: 'p50Ms', fmt: (v) => `${v.toFixed(2)} ms` },
      { title: 'latency p99', key: 'p99Ms', fmt: (v) => `${v.toFixed(2)} ms` },
      { title: 'bytes copied per byte sent', key: 'copiedPerByte', fmt: (v) => v.toFixed(3) },
      {
        title: 'memory read per byte sent (as much written)',
        key: 'memoryPerByte',
        fmt: (v) => v.toFixed(3),
      },
    ];
    const wrap = el('div', { class: 'bars', id: 'compare-bars' });
    for (const m of metrics) {
      const max = Math.max(...result.results.map((r) => r[m.key]), 1e-9);
      const block = el('div', { class: 'metric' });
      const title = el('h3', {}, m.title);
      const ratio = ratios(result.results, m.key, m.fmt);
      if (ratio) title.append(el('span', { class: 'ratio' }, `/zerocopy: ${ratio}`));
      block.append(title);
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
    const errors = result.results.map((r) => `/${r.route} ${r.errors}`).join(' · ');
    const total = result.results.reduce((n, r) => n + r.errors, 0);
    wrap.append(
      el('p', { class: total > 0 ? 'errors bad' : 'errors', id: 'compare-errors' }, `errors: ${errors}`),
      el(
        'p',
        { class: 'hint noise' },
        'A few seconds of load on a shared machine is noisy: differences of 10–20% can be chance. ' +
          'For figures to quote, run `npm run bench` on a quiet machine.',
      ),
    );
    $('compare-results').replaceChildren(wrap);
  }

  async function runTrace(event) {
    event.preventDefault();
    const file = $('trace-file').value;
    const route = $('trace-route').value;
    if (!file) return;
    const button = $('trace-button');
    button.disabled = true;
    $('trace-status').textContent = `tracing GET /${route}/${file}…`;
    $('trace-steps').replaceChildren();
    try {
      const r = await fetch(`/trace?${new URLSearchParams({ route, file })}`);
      const report = await r.json();
      if (!r.ok) throw new Error(report.error ?? r.statusText);
      drawTrace(report);
    } catch (err) {
      $('trace-status').textContent = `trace of /${route}/${file} failed: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  }

  /** The same request on the model's wire: the server records it and answers a pcapng file. */
  function downloadCapture() {
    const file = $('trace-file').value;
    const route = $('trace-route').value;
    if (!file) return;
    const a = el('a', { href: `/capture.pcapng?${new URLSearchParams({ route, file })}`, download: '' });
    document.body.append(a);
    a.click();
    a.remove();
    $('trace-status').textContent =
      `recording GET /${route}/${file} on the wire; the browser saves the .pcapng when it is done`;
  }

  function drawTrace(r) {
    const status = $('trace-status');
    if (r.so === null) {
      status.textContent = `${r.request}: ${r.status}, ${fmtBytes(r.bodyBytes)}; the kernel was not used (/stream is Node's own path)`;
    } else {
      status.textContent =
        `${r.request}: ${r.status}, ${fmtBytes(r.bodyBytes)} on socket ${r.so}, vm object ${r.object}: ` +
        `${r.eventsTotal} kernel events in ${r.durationMs.toFixed(1)} ms, ${r.steps.length} steps` +
        (r.complete ? '' : ' (incomplete)');
    }
    $('trace-steps').replaceChildren(
      ...r.steps.map((step) => {
        const li = el('li', { class: 'step' });
        li.append(el('span', { class: 't' }, `${step.tMs.toFixed(3)} ms`));
        li.append(el('span', { class: 'n' }, step.repeat > 1 ? `×${step.repeat}` : ''));
        const lines = el('div', { class: 'lines' });
        for (const l of step.lines) lines.append(el('div', {}, l));
        if (step.lastLines) {
          const last = el('details');
          last.append(el('summary', {}, `last of ${step.repeat}, at ${step.untilMs.toFixed(3)} ms`));
          for (const l of step.lastLines) last.append(el('div', {}, l));
          lines.append(last);
        }
        li.append(lines);
        return li;
      }),
    );
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

  state.ratioText = ratioText; // for the browser test
  setupCharts();
  $('trace-form').addEventListener('submit', runTrace);
  $('capture-button').addEventListener('click', downloadCapture);
  loadFiles();
  connect();
})();
