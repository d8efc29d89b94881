// The filter panel of the line and dashboard pages (templates/partials/filters.html): time
// range, product, area and shift. Defaults come from the tenant's FILTER rows (the first
// of each filter_type by position; default_value a string such as "7d" or an id, or a list
// whose first entry counts); the choices live in the URL (?range=&product=&area=&shift=),
// so they survive a reload and can be shared. Pages read the shared state `filters` and
// listen for the "lp-filters" event.
import Alpine from '@alpinejs/csp';
import { api, items } from './api.js';
import { t } from './i18n.js';

export const RANGE_HOURS = { '24h': 24, '7d': 24 * 7, '30d': 24 * 30 };
const TYPES = { range: 'time_range', product: 'product', area: 'area', shift: 'shift' };

export const filters = Alpine.reactive({ range: '24h', product: '', area: '', shift: '', shiftName: '', ready: false });

let announce;
const ready = new Promise((resolve) => {
  announce = resolve;
});

// filtersReady resolves with the filters once the panel has read its defaults; at once on
// pages without a panel.
export function filtersReady() {
  return document.getElementById('filters') ? ready : Promise.resolve(filters);
}

function publish() {
  filters.ready = true;
  announce(filters);
  window.dispatchEvent(new CustomEvent('lp-filters'));
}

// setFilter changes one filter (the line page's range buttons), in the URL too.
export function setFilter(name, value) {
  if (filters[name] === value) return;
  filters[name] = value;
  writeURL();
  publish();
}

function writeURL() {
  const q = new URLSearchParams(location.search);
  for (const k of Object.keys(TYPES)) {
    if (filters[k]) q.set(k, filters[k]);
    else q.delete(k);
  }
  const s = q.toString();
  history.replaceState(history.state, '', location.pathname + (s ? `?${s}` : '') + location.hash);
}

// defaultOf reads a FILTER row's default_value as a choice.
function defaultOf(row) {
  let v = row ? row.default_value : null;
  if (Array.isArray(v)) v = v[0];
  return v === null || v === undefined ? '' : String(v);
}

export function filterPanel() {
  return {
    range: '24h',
    product: '',
    area: '',
    shift: '',
    products: [],
    areas: [],
    shifts: [],
    ranges: Object.keys(RANGE_HOURS).map((k) => ({ value: k, label: t(`js.range.${k}.span`) })),

    async init() {
      const line = Number(this.$el.dataset.line) || 0;
      const get = (path) => api(path).then((d) => items(d)).catch(() => []);
      const [rows, products, areas, shifts] = await Promise.all([
        get('/api/v1/filters?limit=500'),
        get('/api/v1/products?limit=500'),
        get(line ? `/api/v1/areas?limit=500&line_id=${line}` : '/api/v1/areas?limit=500'),
        get('/api/v1/shifts?limit=500'),
      ]);
      this.products = products.map((p) => ({ value: String(p.id), label: p.name }));
      this.areas = areas.map((a) => ({ value: String(a.id), label: a.name }));
      this.shifts = shifts.filter((s) => !line || !s.line_id || Number(s.line_id) === line).map((s) => ({ value: String(s.id), label: s.name }));
      rows.sort((a, b) => (a.position || 0) - (b.position || 0));
      const url = new URLSearchParams(location.search);
      const choices = { range: this.ranges, product: this.products, area: this.areas, shift: this.shifts };
      for (const [k, type] of Object.entries(TYPES)) {
        const valid = (v) => choices[k].some((o) => o.value === v);
        const fromURL = url.get(k);
        const def = defaultOf(rows.find((r) => r.filter_type === type));
        let v = fromURL !== null && (fromURL === '' || valid(fromURL)) ? fromURL : valid(def) ? def : '';
        if (k === 'range' && !v) v = '24h';
        this[k] = v;
        filters[k] = v;
      }
      filters.shiftName = (this.shifts.find((s) => s.value === this.shift) || {}).label || '';
      publish();
    },

    changed() {
      for (const k of Object.keys(TYPES)) filters[k] = this[k];
      filters.shiftName = (this.shifts.find((s) => s.value === this.shift) || {}).label || '';
      writeURL();
      publish();
    },

    // follow keeps the panel in step with setFilter (the range buttons).
    follow() {
      this.range = filters.range;
    },
  };
}
