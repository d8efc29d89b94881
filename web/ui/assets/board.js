// Dashboards built from configuration: the "board" component (a DASHBOARD_TEMPLATE
// rendered by the server, templates/partials/board.html) keeps one live connection for
// every line its widgets name; each widget is a "widget" component reading the shared
// live state (one tile per line, see tile.js) or its own API data.
import Alpine from '@alpinejs/csp';
import { api, checkSession, errorText, items } from './api.js';
import { ENUM_LABELS, widgetName } from './boardedit.js';
import { drawProduction } from './chart.js';
import { RANGE_HOURS, filters } from './filters.js';
import { dateTime, duration, integer, percent, t, time } from './i18n.js';
import { LiveClient } from './live.js';
import { STATES, newTile, stateLabel } from './tile.js';
import { handleLive, tileHelpers } from './tiles.js';

// shared is the live state of the page's board: Alpine tracks reads of it in every widget.
const shared = Alpine.reactive({ tiles: [], alerts: [], status: 'connecting', liveError: '', now: Date.now(), raw: {}, info: {}, kiosk: '' });

// apiGet reads the API as the page's viewer: the session cookie, or the TV's kiosk token.
export function apiGet(path) {
  return api(path, shared.kiosk ? { noRedirect: true, headers: { Authorization: `Kiosk ${shared.kiosk}` } } : {});
}

// tileOf is the live tile of a line (a blank one until the board knows the line).
function tileOf(id) {
  return shared.tiles.find((x) => x.id === id) || newTile({ id });
}

function shiftKey(m) {
  return m.shift ? `${m.shift.id}@${m.shift.start}` : '';
}

export function board() {
  let live = null;
  let ticker = null;
  return {
    ...tileHelpers,
    get alerts() {
      return shared.alerts;
    },
    get status() {
      return shared.status;
    },
    get liveError() {
      return shared.liveError;
    },
    get now() {
      return shared.now;
    },
    dismiss(a) {
      shared.alerts = shared.alerts.filter((x) => x.key !== a.key);
    },

    async init() {
      shared.kiosk = this.$el.dataset.kiosk || '';
      ticker = setInterval(() => {
        shared.now = Date.now();
      }, 1000);
      const widgets = [...this.$el.querySelectorAll('[data-widget]')];
      const wanted = new Set(widgets.map((w) => Number(w.dataset.line)).filter((n) => n > 0));
      const everyLine = widgets.some((w) => w.dataset.type === 'plant_map' && !(Number(w.dataset.line) > 0));
      let lines = [];
      try {
        lines = items(await apiGet('/api/v1/lines?limit=500'), 'lines');
      } catch (e) {
        shared.liveError = t('js.lines.load_failed', { message: errorText(e) });
      }
      const byId = new Map(lines.map((l) => [Number(l.id), l]));
      for (const l of lines) shared.info[Number(l.id)] = l;
      const ids = everyLine ? [...new Set([...byId.keys(), ...wanted])] : [...wanted];
      shared.tiles = ids.map((id) => newTile(byId.get(id) || { id }));
      if (!ids.length) return;
      live = new LiveClient({
        lines: ids,
        kiosk: shared.kiosk,
        onMessage: (m) => {
          const line = Number(m.line);
          let changed = m.type === 'downtime';
          if (m.type === 'snapshot' || m.type === 'kpi') {
            const before = shared.raw[line];
            changed = !before || shiftKey(before) !== shiftKey(m);
            shared.raw[line] = m;
          }
          handleLive(shared, m);
          // Widgets with their own data reload when a stop starts or ends or the shift changes.
          if (changed) window.dispatchEvent(new CustomEvent('lp-line', { detail: { line } }));
        },
        onStatus: (s) => {
          shared.status = s;
        },
        onAuthProblem: shared.kiosk ? null : checkSession,
      });
      live.start();
    },

    destroy() {
      if (live) live.stop();
      clearInterval(ticker);
    },
  };
}

// tones of a line state on the map and the timeline.
const MAX_PLAN_BYTES = 2 * 1024 * 1024;
const FILL = { running: '#059669', down: '#dc2626', planned_stop: '#d97706', no_data: '#64748b', no_shift: '#475569', unknown: '#334155' };

export function widget() {
  let chart = null;
  let timer = null;
  let self = null;
  const onFilters = () => {
    if (self && (self.type === 'production_chart' || self.type === 'downtime_list')) self.refresh();
  };
  const onLine = (ev) => {
    if (!self || ev.detail.line !== self.line) return;
    if (ev.detail.plan) self.planSize = null;
    self.refresh();
  };
  return {
    type: '',
    line: 0,
    params: {},
    heading: '',
    error: '',
    rows: [],
    previous: null,
    areas: [],
    mapBox: {},
    planSize: null,
    plan: '',
    segments: [],
    span: '',

    init() {
      self = this;
      const ds = this.$el.dataset;
      this.type = ds.type || '';
      this.line = Number(ds.line) || 0;
      try {
        this.params = JSON.parse(ds.params || '{}') || {};
      } catch {
        this.params = {};
      }
      window.addEventListener('lp-line', onLine);
      window.addEventListener('lp-filters', onFilters);
      this.refresh();
      timer = setInterval(() => this.refresh(), 60000);
    },

    destroy() {
      window.removeEventListener('lp-line', onLine);
      window.removeEventListener('lp-filters', onFilters);
      clearInterval(timer);
      if (chart) chart.destroy();
      chart = null;
    },

    // t is the live tile of the widget's line.
    get t() {
      return tileOf(this.line);
    },

    title() {
      if (this.params.title) return this.params.title;
      const name = widgetName(this.type, t('js.widget.unknown'));
      return this.line ? `${name} · ${this.t.name}` : name;
    },

    async refresh() {
      try {
        switch (this.type) {
          case 'production_chart':
            await this.loadProduction();
            break;
          case 'downtime_list':
            await this.loadDowntime();
            break;
          case 'oee_gauge':
            if (this.params.shift === 'previous') await this.loadPrevious();
            break;
          case 'plant_map':
            await this.loadMap();
            break;
          case 'stop_timeline':
            await this.loadTimeline();
            break;
        }
        this.error = '';
      } catch (e) {
        this.error = t('js.widget.load_failed', { message: errorText(e) });
      }
    },

    // kpi_tile
    metricLabel() {
      return t(ENUM_LABELS[this.params.metric] || ENUM_LABELS.oee);
    },
    metricValue() {
      const tl = this.t;
      switch (this.params.metric) {
        case 'availability':
          return tl.availability;
        case 'performance':
          return tl.performance;
        case 'quality':
          return tl.quality;
        case 'count':
          return tl.total;
        case 'rate':
          return tl.rate;
      }
      return tl.oee;
    },
    stateClass() {
      return (STATES[this.t.state] || STATES.unknown).badge;
    },
    oeeClass() {
      return tileHelpers.oeeClass(this.t);
    },
    downFor() {
      return tileHelpers.downFor.call({ now: shared.now }, this.t);
    },

    mix() {
      return tileHelpers.mixOf(this.t);
    },

    // oee_gauge (previous shift)
    async loadPrevious() {
      try {
        const r = await apiGet(`/api/v1/lines/${this.line}/oee?shift=previous`);
        this.previous = { oee: percent(r.oee, 1), availability: percent(r.availability, 1), performance: percent(r.performance, 1), quality: percent(r.quality, 1) };
      } catch (e) {
        if (e.status !== 404) throw e;
        this.previous = null;
      }
    },
    gauge(which) {
      if (this.params.shift === 'previous') return (this.previous || {})[which] || '—';
      return this.t[which];
    },
    gaugeOEE() {
      return this.gauge('oee');
    },
    gaugeA() {
      return this.gauge('availability');
    },
    gaugeP() {
      return this.gauge('performance');
    },
    gaugeQ() {
      return this.gauge('quality');
    },

    // production_chart
    async loadProduction() {
      const hours = this.params.hours || RANGE_HOURS[filters.range] || 24;
      const to = new Date();
      const from = new Date(to.getTime() - hours * 3600 * 1000);
      const q = new URLSearchParams({ from: from.toISOString(), to: to.toISOString(), interval: this.params.interval || 'hour' });
      const buckets = items(await apiGet(`/api/v1/lines/${this.line}/production?${q}`), 'buckets');
      const canvas = this.$refs.chart;
      if (canvas) chart = drawProduction(chart, canvas, buckets, this.params.interval || 'hour');
    },

    // downtime_list
    async loadDowntime() {
      const to = new Date();
      const from = new Date(to.getTime() - (RANGE_HOURS[filters.range] || 24 * 7) * 3600 * 1000);
      const q = new URLSearchParams({ from: from.toISOString(), to: to.toISOString(), limit: String(this.params.limit || 10) });
      const evs = items(await apiGet(`/api/v1/lines/${this.line}/downtime?${q}`), 'events');
      evs.sort((a, b) => String(b.start).localeCompare(String(a.start)));
      this.rows = evs.slice(0, this.params.limit || 10).map((ev) => ({
        key: `${ev.id}:${ev.start}`,
        start: dateTime(ev.start),
        duration: ev.end ? duration(ev.duration_ms) : t('js.downtime.ongoing'),
        reason: ev.reason_code || t('js.widget.not_coded'),
      }));
    },

    // plant_map
    async loadMap() {
      let areas = items(await apiGet('/api/v1/areas?limit=500'), 'areas');
      if (this.line) areas = areas.filter((a) => Number(a.line_id) === this.line);
      areas = areas.filter((a) => a.coord_x2 > a.coord_x1 && a.coord_y2 > a.coord_y1);
      // Without a floor plan the map spans the areas with the same margin on every side.
      let maxX = 100;
      let maxY = 60;
      const left = areas.length ? Math.min(...areas.map((a) => a.coord_x1)) : 0;
      const top = areas.length ? Math.min(...areas.map((a) => a.coord_y1)) : 0;
      for (const a of areas) {
        maxX = Math.max(maxX, a.coord_x2 + Math.max(left, 0));
        maxY = Math.max(maxY, a.coord_y2 + Math.max(top, 0));
      }
      if (this.planSize === null) {
        // Once per page (and after an upload): a plant without a floor plan answers 404.
        try {
          const fp = await apiGet('/api/v1/floorplan');
          this.plan = fp.data_url || '';
          this.planSize = fp.width > 0 && fp.height > 0 ? [fp.width, fp.height] : [];
        } catch {
          this.plan = '';
          this.planSize = [];
        }
      }
      if (this.planSize.length) [maxX, maxY] = this.planSize;
      this.mapBox = { aspectRatio: `${maxX} / ${maxY}` };
      const pc = (v, of) => `${((v / of) * 100).toFixed(3)}%`;
      this.areas = areas.map((a) => ({
        key: String(a.id),
        id: Number(a.id),
        line: Number(a.line_id),
        name: a.name,
        box: { left: pc(a.coord_x1, maxX), top: pc(a.coord_y1, maxY), width: pc(a.coord_x2 - a.coord_x1, maxX), height: pc(a.coord_y2 - a.coord_y1, maxY) },
        href: `/lines/${a.line_id}`,
      }));
    },
    areaStyle(a) {
      const dim = filters.area && filters.area !== a.key;
      return { ...a.box, backgroundColor: `${FILL[tileOf(a.line).state] || FILL.unknown}cc`, opacity: dim ? '0.3' : '1' };
    },
    areaLabel(a) {
      const tl = tileOf(a.line);
      const m = shared.raw[a.line];
      const ar = m && Array.isArray(m.areas) ? m.areas.find((x) => Number(x.id) === a.id) : null;
      return `${a.name} · ${stateLabel(tl.state)}${ar ? ` · ${integer(ar.count)}` : ''} · ${tl.rate}/min`;
    },
    open(a) {
      if (!shared.kiosk) location.assign(a.href);
    },

    // stop_timeline: the shift as running / down / planned stop segments.
    async loadTimeline() {
      const m = shared.raw[this.line];
      const sh = m && m.shift;
      if (!sh || !sh.start || !sh.end) {
        this.segments = [];
        this.span = t('js.state.no_shift');
        return;
      }
      const start = new Date(sh.start).getTime();
      const end = new Date(sh.end).getTime();
      const now = Math.min(Date.now(), end);
      const q = new URLSearchParams({ from: new Date(start).toISOString(), to: new Date(Math.max(now, start + 1000)).toISOString(), limit: '500' });
      const [evs, cal] = await Promise.all([
        apiGet(`/api/v1/lines/${this.line}/downtime?${q}`).then((d) => items(d, 'events')),
        apiGet(`/api/v1/shifts/calendar?line_id=${this.line}&days=2&start=${sh.start.slice(0, 10)}`).catch(() => ({ items: [] })),
      ]);
      const inst = (cal.items || []).find((i) => Number(i.shift_id) === Number(sh.id) && new Date(i.start).getTime() === start);
      const marks = [];
      for (const b of (inst && inst.breaks) || []) marks.push({ s: new Date(b.start).getTime(), e: new Date(b.end).getTime(), state: 'planned_stop' });
      for (const ev of evs) marks.push({ s: new Date(ev.start).getTime(), e: ev.end ? new Date(ev.end).getTime() : now, state: 'down' });
      marks.sort((a, b) => a.s - b.s);
      const total = end - start;
      const segs = [];
      let at = start;
      const push = (s, e, state) => {
        s = Math.max(s, start);
        e = Math.min(e, end);
        if (e <= s) return;
        segs.push({
          key: `${state}:${s}`,
          state,
          cls: `lp-seg-${state}`,
          style: { left: `${(((s - start) / total) * 100).toFixed(2)}%`, width: `${(((e - s) / total) * 100).toFixed(2)}%`, backgroundColor: FILL[state] },
          title: `${stateLabel(state)} ${time(s)}–${time(e)}`,
        });
      };
      // Planned time before the first data is unmonitored (docs/OEE.md), not running: the
      // first unmonitored_s seconds of planned time (breaks skipped) are drawn as no data.
      let noData = (Number(m.unmonitored_s) || 0) * 1000;
      let firstData = start;
      for (const b of marks.filter((mk) => mk.state === 'planned_stop')) {
        if (noData <= 0) break;
        if (b.s > firstData) {
          const take = Math.min(noData, b.s - firstData);
          firstData += take;
          noData -= take;
        }
        if (noData > 0) firstData = Math.max(firstData, b.e);
      }
      firstData += Math.max(noData, 0);
      const between = (s, e) => {
        push(s, Math.min(e, firstData), 'no_data');
        push(Math.max(s, firstData), e, 'running');
      };
      for (const mk of marks) {
        if (mk.s > at) between(at, Math.min(mk.s, now));
        push(Math.max(mk.s, at), mk.e, mk.state);
        at = Math.max(at, mk.e);
      }
      if (now > at) between(at, now);
      this.segments = segs;
      this.span = `${sh.name || ''} ${time(start)}–${time(end)}`;
    },

    // counter_target: the target given, else the shift's production target, else what the
    // ideal cycle time allows in the monitored planned time so far (planned time without data
    // is no one's target: docs/OEE.md).
    counter() {
      const m = shared.raw[this.line] || {};
      const good = (m.counts && m.counts.good) || 0;
      let target = this.params.target || Number(m.target) || 0;
      const cycle = Number((shared.info[this.line] || {}).ideal_cycle_time_ms) || 0;
      if (!target && cycle > 0 && typeof m.planned_s === 'number') target = Math.floor((Math.max(m.planned_s - (Number(m.unmonitored_s) || 0), 0) * 1000) / cycle);
      const share = target > 0 ? Math.min(1, good / target) : 0;
      return {
        good: integer(good),
        target: target > 0 ? integer(target) : '—',
        share: target > 0 ? percent(good / target, 0) : '—',
        bar: { width: `${(share * 100).toFixed(1)}%` },
        cls: target > 0 && good >= target ? 'bg-emerald-500' : 'bg-sky-500',
      };
    },

    // clock_banner
    clock() {
      return time(shared.now);
    },
  };
}

// floorPlan is the upload form of the plant map page: PNG, JPEG or SVG, sent base64 to
// PUT /api/v1/floorplan (the API checks and sanitises it); the map redraws.
export function floorPlan() {
  return {
    busy: false,
    note: '',
    noteClass: '',

    redraw() {
      window.dispatchEvent(new CustomEvent('lp-line', { detail: { line: 0, plan: true } }));
    },

    say(text, ok) {
      this.note = text;
      this.noteClass = ok ? 'text-emerald-300' : 'text-red-300';
    },

    upload(ev) {
      const file = ev.target.files && ev.target.files[0];
      if (!file) return;
      if (file.size > MAX_PLAN_BYTES) {
        this.say(t('js.map.too_large'), false);
        return;
      }
      const reader = new FileReader();
      reader.onload = async () => {
        const data = String(reader.result).replace(/^data:[^,]*,/, '');
        this.busy = true;
        try {
          await api('/api/v1/floorplan', { method: 'PUT', body: { content_type: file.type, data } });
          this.say(t('js.saved'), true);
          this.redraw();
        } catch (e) {
          this.say(e.fields && e.fields.length ? e.fields.map((f) => f.message).join('; ') : errorText(e), false);
        } finally {
          this.busy = false;
          ev.target.value = '';
        }
      };
      reader.readAsDataURL(file);
    },

    async remove() {
      try {
        await api('/api/v1/floorplan', { method: 'DELETE' });
        this.say(t('js.map.removed'), true);
        this.redraw();
      } catch (e) {
        this.say(errorText(e), false);
      }
    },
  };
}
