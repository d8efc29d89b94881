// The dashboard list (/dashboards) and the grid editor (/dashboards/{id}/edit): widgets
// from the catalogue, their parameters as fields made from each widget's JSON Schema,
// their place on a 12-column grid (numbers, arrows, or drag on the preview). The API
// validates the layout; its refusals (the schema's messages) show on their widget.
import { api, errorText, items } from './api.js';
import { t, tn } from './i18n.js';

const WIDGET_NAMES = {
  kpi_tile: 'js.widget.kpi_tile',
  line_state: 'js.widget.line_state',
  oee_gauge: 'js.widget.oee_gauge',
  production_chart: 'js.widget.production_chart',
  product_mix: 'js.widget.product_mix',
  downtime_list: 'js.widget.downtime_list',
  plant_map: 'js.widget.plant_map',
  stop_timeline: 'js.widget.stop_timeline',
  counter_target: 'js.widget.counter_target',
  clock_banner: 'js.widget.clock_banner',
};

const PARAM_LABELS = {
  line_id: 'js.param.line_id',
  metric: 'js.param.metric',
  interval: 'js.param.interval',
  hours: 'js.param.hours',
  limit: 'js.param.limit',
  shift: 'js.param.shift',
  target: 'js.param.target',
  title: 'js.param.title',
};

// ENUM_LABELS name the values of the catalogue's enum parameters (kpi_tile's metric, ...).
export const ENUM_LABELS = {
  oee: 'js.kpi.oee',
  availability: 'js.kpi.availability',
  performance: 'js.kpi.performance',
  quality: 'js.kpi.quality',
  count: 'js.kpi.count',
  rate: 'js.kpi.rate',
  minute: 'js.enum.minute',
  hour: 'js.enum.hour',
  day: 'js.enum.day',
  shift: 'js.enum.shift',
  current: 'js.enum.current',
  previous: 'js.enum.previous',
};

// widgetName is the translated name of a widget type (the catalogue's English name else).
export function widgetName(type, fallback) {
  return WIDGET_NAMES[type] ? t(WIDGET_NAMES[type]) : fallback || type;
}

function roles() {
  try {
    return JSON.parse(document.getElementById('lp-roles').textContent) || {};
  } catch {
    return {};
  }
}

export function boardList() {
  return {
    boards: [],
    loading: true,
    error: '',
    canWrite: false,

    async init() {
      this.canWrite = this.$el.dataset.canWrite === 'true';
      await this.load();
    },

    async load() {
      const names = roles();
      try {
        const list = items(await api('/api/v1/dashboards?limit=500'), 'dashboards');
        this.boards = list.map((d) => {
          const n = ((d.layout_config && d.layout_config.widgets) || []).length;
          return { id: d.id, name: d.name, role: names[d.role_access] || d.role_access, count: tn('js.board.widgets', n), href: `/dashboards/${d.id}`, edit: `/dashboards/${d.id}/edit` };
        });
        this.error = '';
      } catch (e) {
        this.error = errorText(e);
      }
      this.loading = false;
    },

    async create() {
      try {
        const d = await api('/api/v1/dashboards', { method: 'POST', body: { name: t('js.board.untitled'), role_access: 'viewer', layout_config: { columns: 12, widgets: [] } } });
        location.assign(`/dashboards/${d.id}/edit`);
      } catch (e) {
        this.error = errorText(e);
      }
    },

    async remove(d) {
      if (!window.confirm(t('js.board.confirm_delete', { name: d.name }))) return;
      try {
        await api(`/api/v1/dashboards/${d.id}`, { method: 'DELETE' });
        await this.load();
      } catch (e) {
        this.error = errorText(e);
      }
    },
  };
}

let seq = 0;

// fieldsOf makes the form fields of a widget's params from its JSON Schema.
function fieldsOf(schema, params, lines) {
  const props = (schema && schema.properties) || {};
  const required = new Set((schema && schema.required) || []);
  return Object.keys(props).map((name) => {
    const p = props[name] || {};
    const v = params[name];
    const f = { name, label: PARAM_LABELS[name] ? t(PARAM_LABELS[name]) : name, kind: 'text', value: v === undefined || v === null ? '' : String(v), type: p.type || 'string', options: [] };
    const blank = required.has(name) ? [] : [{ value: '', label: t('js.param.none') }];
    if (name === 'line_id') {
      f.kind = 'select';
      f.type = 'integer';
      f.options = [...blank, ...lines.map((l) => ({ value: String(l.id), label: l.name || t('js.tile.line', { id: l.id }) }))];
      if (!f.value && required.has(name) && lines.length) f.value = String(lines[0].id);
    } else if (Array.isArray(p.enum)) {
      f.kind = 'select';
      f.options = [...blank, ...p.enum.map((e) => ({ value: String(e), label: ENUM_LABELS[e] ? t(ENUM_LABELS[e]) : String(e) }))];
      if (!f.value && required.has(name)) f.value = String(p.enum[0]);
    } else if (p.type === 'integer' || p.type === 'number') {
      f.kind = 'number';
    }
    return f;
  });
}

// paramsOf turns the fields back into params: empty fields are left out, numbers typed.
function paramsOf(fields) {
  const out = {};
  for (const f of fields) {
    const v = String(f.value).trim();
    if (v === '') continue;
    out[f.name] = f.type === 'integer' || f.type === 'number' ? (Number.isFinite(Number(v)) ? Number(v) : v) : v;
  }
  return out;
}

export function boardEditor() {
  let catalog = new Map();
  let lines = [];
  let dragging = null;
  return {
    id: 0,
    name: '',
    role: 'viewer',
    roles: [],
    catalog: [],
    addType: '',
    widgets: [],
    selected: '',
    saving: false,
    note: '',
    noteClass: '',

    async init() {
      this.id = Number(this.$el.dataset.board);
      const names = roles();
      this.roles = Object.keys(names).map((value) => ({ value, label: names[value] }));
      try {
        const [d, cat, ls] = await Promise.all([
          api(`/api/v1/dashboards/${this.id}`),
          api('/api/v1/widgets?limit=500').then((x) => items(x, 'widgets')),
          api('/api/v1/lines?limit=500').then((x) => items(x, 'lines')),
        ]);
        lines = ls;
        catalog = new Map(cat.map((c) => [c.widget_type, c]));
        this.catalog = cat.map((c) => ({ type: c.widget_type, label: widgetName(c.widget_type, c.name) }));
        this.addType = this.catalog.length ? this.catalog[0].type : '';
        this.name = d.name;
        this.role = d.role_access;
        const layout = d.layout_config || {};
        this.widgets = (layout.widgets || []).map((w) => this.widget(w));
      } catch (e) {
        this.say(errorText(e), false);
      }
    },

    widget(w) {
      const c = catalog.get(w.widget_type);
      return {
        key: `w${++seq}`,
        id: w.id || '',
        type: w.widget_type,
        label: widgetName(w.widget_type, c && c.name),
        x: w.x || 0,
        y: w.y || 0,
        w: w.w || 4,
        h: w.h || 2,
        fields: fieldsOf(c && c.required_params, w.params || {}, lines),
        error: '',
      };
    },

    say(text, ok) {
      this.note = text;
      this.noteClass = ok ? 'border-emerald-800 bg-emerald-950 text-emerald-200' : 'border-red-800 bg-red-950 text-red-200';
    },

    add() {
      if (!this.addType) return;
      const bottom = this.widgets.reduce((m, w) => Math.max(m, w.y + w.h), 0);
      const w = this.widget({ widget_type: this.addType, x: 0, y: bottom, w: 6, h: 2, params: {} });
      this.widgets.push(w);
      this.selected = w.key;
    },

    remove(w) {
      this.widgets = this.widgets.filter((x) => x.key !== w.key);
    },

    select(w) {
      this.selected = w.key;
    },

    move(w, dy) {
      w.y = Math.max(0, w.y + dy);
    },

    cell(w) {
      const span = Math.min(Math.max(Number(w.w) || 1, 1), 12);
      const x = Math.min(Math.max(Number(w.x) || 0, 0), 12 - span);
      return { gridColumn: `${x + 1} / span ${span}`, gridRow: `${(Number(w.y) || 0) + 1} / span ${Math.min(Math.max(Number(w.h) || 1, 1), 8)}` };
    },

    dragStart(w) {
      dragging = w.key;
      this.selected = w.key;
    },

    // dropAt moves the dragged widget to the grid cell under the pointer.
    dropAt(ev) {
      const w = this.widgets.find((x) => x.key === dragging);
      dragging = null;
      if (!w) return;
      const r = this.$refs.preview.getBoundingClientRect();
      const col = Math.floor(((ev.clientX - r.left) / r.width) * 12);
      const row = Math.floor((ev.clientY - r.top - 8) / 44); // 2.5rem rows and a 0.25rem gap
      w.x = Math.min(Math.max(col, 0), 12 - Math.min(w.w, 12));
      w.y = Math.max(row, 0);
    },

    layout() {
      return {
        columns: 12,
        widgets: this.widgets.map((w) => ({
          ...(w.id ? { id: w.id } : {}),
          widget_type: w.type,
          x: Number(w.x) || 0,
          y: Number(w.y) || 0,
          w: Number(w.w) || 1,
          h: Number(w.h) || 1,
          params: paramsOf(w.fields),
        })),
      };
    },

    async save() {
      this.saving = true;
      for (const w of this.widgets) w.error = '';
      try {
        await api(`/api/v1/dashboards/${this.id}`, { method: 'PUT', body: { name: this.name, role_access: this.role, layout_config: this.layout() } });
        this.say(t('js.saved'), true);
      } catch (e) {
        let placed = false;
        for (const f of e.fields || []) {
          const m = /^layout_config\.widgets\[(\d+)\]/.exec(f.field || '');
          if (m && this.widgets[Number(m[1])]) {
            const w = this.widgets[Number(m[1])];
            w.error = w.error ? `${w.error}; ${f.message}` : f.message;
            placed = true;
          }
        }
        this.say(placed ? t('js.board.invalid') : errorText(e), false);
      } finally {
        this.saving = false;
      }
    },
  };
}
