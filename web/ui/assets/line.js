// lineDetail is the Alpine component of /lines/{id}: live tile, production chart, OEE of
// the current and previous shift, and the downtime list with reason coding.
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import { api, checkSession, errorText, items } from './api.js';
import { t, time } from './i18n.js';
import { LiveClient } from './live.js';
import { dateTime, duration, monitored, newTile, num, pct, shortDateTime, unmonitoredText } from './tile.js';
import { handleLive, tileHelpers } from './tiles.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);

const RANGES = {
  '24h': { hours: 24, interval: 'hour', span: 'js.range.24h.span', label: 'js.range.24h.label' },
  '7d': { hours: 24 * 7, interval: 'day', span: 'js.range.7d.span', label: 'js.range.7d.label' },
  '30d': { hours: 24 * 30, interval: 'day', span: 'js.range.30d.span', label: 'js.range.30d.label' },
};

function numOr(...vals) {
  for (const v of vals) if (typeof v === 'number' && Number.isFinite(v)) return v;
  return null;
}

// oeeCard reads an OEE report tolerantly (snake_case fields, counts nested or flat).
function oeeCard(r) {
  if (!r || typeof r !== 'object') return null;
  const c = r.counts || r;
  const shift = r.shift && typeof r.shift === 'object' ? r.shift : null;
  const from = r.from || r.start || (shift && shift.start);
  const to = r.to || r.end || (shift && shift.end);
  const planned = numOr(r.planned_s, r.planned_ms !== undefined ? r.planned_ms / 1000 : undefined);
  const down = numOr(r.downtime_s, r.downtime_ms !== undefined ? r.downtime_ms / 1000 : undefined);
  const known = monitored(r);
  return {
    shift: (shift && shift.name) || r.shift_name || t('js.state.no_shift'),
    period: from ? `${shortDateTime(from)} – ${to ? shortDateTime(to) : t('js.oee.now')}` : '',
    oee: known ? pct(r.oee) : '—',
    availability: known ? pct(r.availability) : '—',
    performance: known ? pct(r.performance) : '—',
    quality: known ? pct(r.quality) : '—',
    unmonitored: unmonitoredText(r),
    // Not live: the card says when it was computed (and the current one is recomputed).
    computed: t('js.oee.computed', { time: time(new Date()) }),
    over100: !!r.performance_over_100,
    total: num(c.total),
    good: num(c.good),
    reject: num(c.reject),
    planned: planned === null ? '—' : duration(planned * 1000),
    downtime: down === null ? '—' : duration(down * 1000),
  };
}

// The API labels buckets in the plant's time zone ("2006-01-02 15:04 MST", a date, or
// "date shift"); the axis shows the short part, the tooltip all of it.
function fullLabel(b) {
  return (b && (b.label || dateTime(b.start))) || '';
}

function shortLabel(b, interval) {
  const label = fullLabel(b);
  if (interval === 'hour' || interval === 'minute') {
    const m = /\b(\d{1,2}:\d{2})\b/.exec(label);
    if (m) return m[1];
  }
  if (interval === 'day') {
    const m = /^\d{4}-(\d{2}-\d{2})$/.exec(label);
    if (m) return m[1];
  }
  return label;
}

function csvCell(v) {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function download(filename, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// OEE_REFRESH_MS is how often the current shift's card is recomputed.
const OEE_REFRESH_MS = 30000;

export function lineDetail() {
  let chart = null;
  let live = null;
  let ticker = null;
  let oeeTicker = null;
  let buckets = [];
  return {
    ...tileHelpers,
    lineId: 0,
    name: '',
    tiles: [],
    alerts: [],
    status: 'connecting',
    liveError: '',
    now: Date.now(),
    range: '24h',
    rangeLabel: t(RANGES['24h'].label),
    rangeSpan: t(RANGES['24h'].span),
    title: '',
    prodError: '',
    prodEmpty: false,
    prodTotals: { total: '—', good: '—', reject: '—' },
    current: null,
    previous: null,
    oeeError: '',
    events: [],
    downError: '',
    failures: [],
    failError: '',

    async init() {
      this.lineId = Number(this.$el.dataset.line);
      this.title = this.$el.dataset.title || '';
      ticker = setInterval(() => {
        this.now = Date.now();
      }, 1000);
      let line = { id: this.lineId };
      try {
        line = (await api(`/api/v1/lines/${this.lineId}`)) || line;
      } catch (e) {
        if (e.status === 404 || e.status === 403) {
          this.liveError = t('js.line.not_visible', { id: this.lineId });
          return;
        }
      }
      this.name = line.name || t('js.tile.line', { id: this.lineId });
      this.tiles = [newTile({ ...line, id: this.lineId })];
      // The failure catalogue first: the reason selects need their options before their value.
      await this.loadFailures();
      await Promise.all([this.loadProduction(), this.loadOEE(), this.loadDowntime()]);
      oeeTicker = setInterval(() => this.loadOEE(), OEE_REFRESH_MS);
      live = new LiveClient({
        lines: [this.lineId],
        onMessage: (m) => {
          handleLive(this, m);
          if (m.type === 'downtime') this.onDowntime(m.event || {});
        },
        onStatus: (s) => {
          this.status = s;
        },
        onAuthProblem: checkSession,
      });
      live.start();
    },

    destroy() {
      if (live) live.stop();
      if (chart) chart.destroy();
      clearInterval(ticker);
      clearInterval(oeeTicker);
      chart = null;
    },

    tile() {
      return this.tiles[0] || newTile({ id: this.lineId });
    },

    window() {
      const r = RANGES[this.range] || RANGES['24h'];
      const to = new Date();
      const from = new Date(to.getTime() - r.hours * 3600 * 1000);
      return { from: from.toISOString(), to: to.toISOString(), interval: r.interval };
    },

    async setRange(r) {
      if (!RANGES[r]) return;
      this.range = r;
      this.rangeLabel = t(RANGES[r].label);
      this.rangeSpan = t(RANGES[r].span);
      await Promise.all([this.loadProduction(), this.loadDowntime()]);
    },

    rangeClass(r) {
      return r === this.range ? 'bg-sky-600 text-white' : 'bg-slate-800 text-slate-300 hover:bg-slate-700';
    },

    async loadProduction() {
      const w = this.window();
      const q = new URLSearchParams({ from: w.from, to: w.to, interval: w.interval });
      try {
        buckets = items(await api(`/api/v1/lines/${this.lineId}/production?${q}`), 'buckets');
        this.prodError = '';
      } catch (e) {
        buckets = [];
        this.prodError = t('js.production.load_failed', { message: errorText(e) });
      }
      const sum = (k) => buckets.reduce((s, b) => s + (Number(b[k]) || 0), 0);
      this.prodTotals = { total: num(sum('total')), good: num(sum('good')), reject: num(sum('reject')) };
      this.prodEmpty = buckets.length === 0;
      this.drawChart();
    },

    drawChart() {
      const canvas = this.$refs.chart;
      if (!canvas) return;
      const labels = buckets.map((b) => shortLabel(b, this.window().interval));
      const good = buckets.map((b) => Number(b.good) || 0);
      const reject = buckets.map((b) => Number(b.reject) || 0);
      if (chart) {
        chart.data.labels = labels;
        chart.data.datasets[0].data = good;
        chart.data.datasets[1].data = reject;
        chart.update();
        return;
      }
      chart = new Chart(canvas, {
        type: 'bar',
        data: {
          labels,
          datasets: [
            { label: t('js.kpi.good'), data: good, backgroundColor: '#34d399', stack: 'count' },
            { label: t('js.kpi.reject'), data: reject, backgroundColor: '#f87171', stack: 'count' },
          ],
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          scales: {
            x: { stacked: true, ticks: { color: '#94a3b8', maxRotation: 0, autoSkip: true }, grid: { color: '#1e293b' } },
            y: { stacked: true, beginAtZero: true, ticks: { color: '#94a3b8' }, grid: { color: '#1e293b' } },
          },
          plugins: {
            legend: { labels: { color: '#e2e8f0' } },
            tooltip: { callbacks: { title: (points) => (points.length ? fullLabel(buckets[points[0].dataIndex]) : '') } },
          },
        },
      });
    },

    exportCSV() {
      const rows = [['start', 'end', 'label', 'total', 'good', 'reject']];
      for (const b of buckets) rows.push([b.start, b.end, b.label, b.total, b.good, b.reject]);
      const text = rows.map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
      download(`line-${this.lineId}-production-${this.range}.csv`, text, 'text/csv');
    },

    async loadOEE() {
      const get = async (which) => {
        try {
          return oeeCard(await api(`/api/v1/lines/${this.lineId}/oee?shift=${which}`));
        } catch (e) {
          if (e.status === 404) return null; // no such shift (no shift calendar yet)
          this.oeeError = t('js.oee.load_failed', { message: errorText(e) });
          return null;
        }
      };
      const [cur, prev] = await Promise.all([get('current'), get('previous')]);
      this.current = cur;
      this.previous = prev;
    },

    async loadFailures() {
      try {
        this.failures = items(await api('/api/v1/failures?limit=500'), 'failures')
          .filter((f) => f && f.code)
          .map((f) => ({ code: String(f.code), label: f.name ? `${f.code} — ${f.name}` : String(f.code) }))
          .sort((a, b) => a.code.localeCompare(b.code));
      } catch (e) {
        this.failError = t('js.failures.load_failed', { message: errorText(e) });
      }
    },

    row(ev) {
      const open = !ev.end;
      return {
        key: `${ev.id || 'open'}:${ev.start}`,
        id: Number(ev.id) || 0,
        start: dateTime(ev.start),
        startISO: ev.start,
        end: open ? t('js.downtime.ongoing') : dateTime(ev.end),
        open,
        durationMs: typeof ev.duration_ms === 'number' ? ev.duration_ms : null,
        reason: ev.reason_code || '',
        saved: ev.reason_code || '',
        saving: false,
        note: '',
        noteClass: '',
      };
    },

    async loadDowntime() {
      const w = this.window();
      const q = new URLSearchParams({ from: w.from, to: w.to, limit: '500' });
      try {
        const evs = items(await api(`/api/v1/lines/${this.lineId}/downtime?${q}`), 'events');
        evs.sort((a, b) => String(b.start).localeCompare(String(a.start)));
        this.events = evs.map((ev) => this.row(ev));
        this.downError = '';
      } catch (e) {
        this.downError = t('js.downtime.load_failed', { message: errorText(e) });
      }
    },

    onDowntime(ev) {
      if (ev.state === 'started') {
        if (!this.events.some((r) => r.startISO === ev.start)) this.events.unshift(this.row({ ...ev, end: null }));
      } else {
        this.loadDowntime(); // ended (now booked with an id) or cancelled (gone)
      }
    },

    durationText(r) {
      if (r.open) return duration(Math.max(0, this.now - new Date(r.startISO).getTime()));
      return duration(r.durationMs);
    },

    canCode(r) {
      return r.id > 0 && this.failures.length > 0;
    },

    async saveReason(r) {
      if (!r.id || r.reason === r.saved) return;
      r.saving = true;
      r.note = t('js.saving');
      r.noteClass = 'text-slate-400';
      try {
        await api(`/api/v1/lines/${this.lineId}/downtime/${r.id}/reason`, { method: 'PUT', body: { reason_code: r.reason } });
        r.saved = r.reason;
        r.note = t('js.saved');
        r.noteClass = 'text-emerald-400';
      } catch (e) {
        r.reason = r.saved;
        r.note = errorText(e);
        r.noteClass = 'text-red-400';
      } finally {
        r.saving = false;
      }
    },
  };
}
