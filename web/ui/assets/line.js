// lineDetail is the Alpine component of /lines/{id}: live tile, production chart, OEE of
// the current and previous shift, the loss waterfall, the Pareto of stops, and the downtime
// list with reason coding and comments.
import { api, checkSession, errorText, items } from './api.js';
import { drawProduction } from './chart.js';
import { t, time } from './i18n.js';
import { filters, filtersReady, setFilter } from './filters.js';
import { incidents } from './incidents.js';
import { LiveClient } from './live.js';
import { drawPareto, uncodedNote } from './pareto.js';
import { dateTime, duration, monitored, newTile, num, pct, shortDateTime, unmonitoredText } from './tile.js';
import { handleLive, tileHelpers } from './tiles.js';
import { loadWaterfall } from './waterfall.js';

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

// reasonChoices are the failures a stop can be coded with, each labelled with its code and
// its path in the reason tree ("JAM — Mechanical › Jam") and sorted by the codes of that
// path, so a category's reasons follow it.
function reasonChoices(list) {
  const all = list.filter((f) => f && f.code);
  const byId = new Map(all.map((f) => [Number(f.id), f]));
  const path = (f) => {
    const out = [f];
    // At most 3 levels (store.MaxReasonDepth); the bound also stops at a broken chain.
    for (let p = byId.get(Number(f.parent_id)); p && out.length < 3; p = byId.get(Number(p.parent_id))) out.unshift(p);
    return out;
  };
  return all
    .map((f) => {
      const p = path(f);
      const names = p.map((x) => x.name || x.code).join(' › ');
      return { id: Number(f.id), sid: String(f.id), code: String(f.code), label: f.name || p.length > 1 ? `${f.code} — ${names}` : String(f.code), key: p.map((x) => x.code) };
    })
    .sort((a, b) => {
      for (let i = 0; i < Math.min(a.key.length, b.key.length); i++) {
        const c = a.key[i].localeCompare(b.key[i]);
        if (c) return c;
      }
      return a.key.length - b.key.length;
    });
}

// OEE_REFRESH_MS is how often the current shift's card is recomputed.
const OEE_REFRESH_MS = 30000;

export function lineDetail() {
  let chart = null;
  let pareto = null;
  let live = null;
  let ticker = null;
  let oeeTicker = null;
  let buckets = [];
  let onFilters = null;
  return {
    ...tileHelpers,
    ...incidents(),
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
    seenFilters: '',
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
    paretoError: '',
    paretoUncoded: '',
    paretoEmpty: false,
    waterfall: [],
    lossError: '',
    lossEmpty: false,

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
      const f = await filtersReady();
      if (RANGES[f.range]) this.useRange(f.range);
      this.seenFilters = `${f.shift}|${f.range}`;
      onFilters = () => this.onFilters();
      window.addEventListener('lp-filters', onFilters);
      await Promise.all([this.loadProduction(), this.loadOEE(), this.loadDowntime(), this.loadIncidents(), this.loadPareto(), this.loadLosses()]);
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
      window.removeEventListener('lp-filters', onFilters);
      if (live) live.stop();
      if (chart) chart.destroy();
      if (pareto) pareto.destroy();
      clearInterval(ticker);
      clearInterval(oeeTicker);
      chart = null;
      pareto = null;
    },

    tile() {
      return this.tiles[0] || newTile({ id: this.lineId });
    },

    window() {
      const r = RANGES[this.range] || RANGES['24h'];
      const to = new Date();
      const from = new Date(to.getTime() - r.hours * 3600 * 1000);
      // A chosen shift: production per shift instance, only that shift's.
      return { from: from.toISOString(), to: to.toISOString(), interval: filters.shift ? 'shift' : r.interval };
    },

    useRange(r) {
      this.range = r;
      this.rangeLabel = t(RANGES[r].label);
      this.rangeSpan = t(RANGES[r].span);
    },

    // onFilters follows the filter panel: the range, and the shift the lists are cut to.
    async onFilters() {
      const f = filters;
      const shift = `${f.shift}|${f.range}`;
      if (shift === this.seenFilters) return;
      this.seenFilters = shift;
      if (RANGES[f.range]) this.useRange(f.range);
      await Promise.all([this.loadProduction(), this.loadDowntime(), this.loadPareto(), this.loadLosses()]);
    },

    setRange(r) {
      if (RANGES[r]) setFilter('range', r); // the panel and the URL follow; onFilters reloads
    },

    rangeClass(r) {
      return r === this.range ? 'bg-sky-600 text-white' : 'bg-slate-800 text-slate-300 hover:bg-slate-700';
    },

    async loadProduction() {
      const w = this.window();
      const q = new URLSearchParams({ from: w.from, to: w.to, interval: w.interval });
      try {
        buckets = items(await api(`/api/v1/lines/${this.lineId}/production?${q}`), 'buckets');
        if (filters.shift) buckets = buckets.filter((b) => String(b.label || '').endsWith(` ${filters.shiftName}`));
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
      chart = drawProduction(chart, canvas, buckets, this.window().interval);
    },

    async loadPareto() {
      const w = this.window();
      const q = new URLSearchParams({ from: w.from, to: w.to, lines: String(this.lineId), group: 'reason' });
      let p = null;
      try {
        p = await api(`/api/v1/downtime/pareto?${q}`);
        this.paretoError = '';
      } catch (e) {
        this.paretoError = t('js.losses.load_failed', { message: errorText(e) });
      }
      this.paretoEmpty = !p || !p.groups || p.groups.length === 0;
      this.paretoUncoded = uncodedNote(p);
      if (this.$refs.pareto) pareto = drawPareto(this.$refs.pareto, p, pareto);
    },

    // loadLosses reads the loss waterfall of the range (like the Pareto, not cut to a shift).
    loadLosses() {
      const w = this.window();
      return loadWaterfall(this, `/api/v1/lines/${this.lineId}/losses?${new URLSearchParams({ from: w.from, to: w.to })}`);
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
        this.failures = reasonChoices(items(await api('/api/v1/failures?limit=500'), 'failures'));
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
        comment: ev.comment || '',
        savedComment: ev.comment || '',
        saving: false,
        note: '',
        noteClass: '',
        reporting: false,
        report: { failure: '', title: '', description: '', error: '' },
      };
    },

    async loadDowntime() {
      const w = this.window();
      const q = new URLSearchParams({ from: w.from, to: w.to, limit: '500' });
      try {
        let evs = items(await api(`/api/v1/lines/${this.lineId}/downtime?${q}`), 'events');
        if (filters.shift) evs = await this.inShift(evs, w);
        evs.sort((a, b) => String(b.start).localeCompare(String(a.start)));
        this.events = evs.map((ev) => this.row(ev));
        this.downError = '';
      } catch (e) {
        this.downError = t('js.downtime.load_failed', { message: errorText(e) });
      }
    },

    // inShift keeps the stops that overlap an instance of the chosen shift.
    async inShift(evs, w) {
      const from = new Date(w.from);
      const days = Math.min(62, Math.ceil((Date.now() - from.getTime()) / 86400000) + 2);
      const start = new Date(from.getTime() - 86400000).toISOString().slice(0, 10);
      const cal = await api(`/api/v1/shifts/calendar?line_id=${this.lineId}&days=${days}&start=${start}`);
      const spans = (cal.items || []).filter((i) => String(i.shift_id) === filters.shift).map((i) => [new Date(i.start).getTime(), new Date(i.end).getTime()]);
      return evs.filter((ev) => {
        const s = new Date(ev.start).getTime();
        const e = ev.end ? new Date(ev.end).getTime() : Date.now();
        return spans.some(([a, b]) => s < b && e > a);
      });
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
      if (!r.id || (r.reason === r.saved && r.comment === r.savedComment)) return;
      r.saving = true;
      r.note = t('js.saving');
      r.noteClass = 'text-slate-400';
      try {
        await api(`/api/v1/lines/${this.lineId}/downtime/${r.id}/reason`, { method: 'PUT', body: { reason_code: r.reason, comment: r.comment } });
        r.saved = r.reason;
        r.savedComment = r.comment;
        this.loadPareto();
        this.loadLosses();
        r.note = t('js.saved');
        r.noteClass = 'text-emerald-400';
      } catch (e) {
        r.reason = r.saved;
        r.comment = r.savedComment;
        r.note = errorText(e);
        r.noteClass = 'text-red-400';
      } finally {
        r.saving = false;
      }
    },
  };
}
