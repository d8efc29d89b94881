// setupScreen is the one Alpine component of every setup screen (templates/setup.html):
// it lists an API collection, opens the create/edit form, sends it back and shows the
// API's validation errors next to their fields. What a screen shows is declared in Go
// (web/ui/screens.go) and read from <script id="lp-screen" type="application/json">.
// Behaviour particular to one screen goes in HOOKS, nowhere else.
import { ApiError, api, errorText, items } from './api.js';
import { decimal, fullDateTime, integer, percent, t } from './i18n.js';

// HOOKS adjust one screen (by slug): beforeSave(body, form) may change the request body;
// unused(name, values) says a field does not apply to an object (values: the form's or a
// row), which hides its input and shows '—' in its column.
const HOOKS = {
  shifts: {
    // A shift that ends at or before its start ends the next day.
    beforeSave(body) {
      if (body.start_time && body.end_time) body.is_overnight = body.end_time <= body.start_time;
    },
  },
  'notification-channels': {
    // A webhook has a URL, an e-mail channel an SMTP server; a browser channel neither.
    unused(name, values) {
      if (name === 'config.url' || name === 'config.format' || name === 'config.secret') return values.kind !== 'webhook';
      return name.startsWith('config.') && values.kind !== 'email';
    },
  },
  'report-schedules': {
    // The hour is the plant reports' (daily, weekly), the lines the shift report's.
    unused(name, values) {
      return (name === 'hour' && values.kind === 'shift_end') || (name === 'lines' && values.kind !== 'shift_end');
    },
  },
};

const MAX_ROWS = 500;

export function getPath(obj, path) {
  return path.split('.').reduce((o, k) => (o === null || o === undefined ? undefined : o[k]), obj);
}

function setPath(obj, path, v) {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (o[k] === null || typeof o[k] !== 'object') o[k] = {};
    o = o[k];
  }
  o[keys[keys.length - 1]] = v;
}

function clone(v) {
  return v === undefined ? undefined : JSON.parse(JSON.stringify(v));
}

function num(s) {
  if (s === '' || s === null || s === undefined) return null;
  const n = Number(String(s).replace(',', '.'));
  return Number.isFinite(n) ? n : NaN;
}

// The value an option had in the declaration (a number stays a number).
function optionValue(options, s) {
  const o = (options || []).find((x) => String(x.value) === String(s));
  return o ? o.value : s;
}

// fromAPI turns an API value into the form's value for a field kind.
const fromAPI = {
  percent: (v) => (typeof v === 'number' ? String(Math.round(v * 1e6) / 1e4) : ''),
  seconds: (v) => (typeof v === 'number' ? String(v / 1000) : ''),
  number: (v) => (v === null || v === undefined ? '' : String(v)),
  ref: (v) => String(v === null || v === undefined ? 0 : v),
  refs: (v) => (Array.isArray(v) ? v.map(String) : []),
  multi: (v) => (Array.isArray(v) ? v.map(String) : []),
  json: (v) => (v === undefined || v === null ? '' : JSON.stringify(v, null, 2)),
  addresses: (v) => (Array.isArray(v) ? v.join(', ') : ''),
  checkbox: (v) => !!v,
  breaks: (v) => (Array.isArray(v) ? v.map((b) => ({ start: b.start || '', end: b.end || '' })) : []),
  any: (v) => (v === null || v === undefined ? '' : String(v)),
};

// toAPI turns the form's value back into what the API takes; undefined leaves it out.
const toAPI = {
  percent: (s) => {
    const n = num(s);
    return n === null || Number.isNaN(n) ? n : Math.round(n * 1e4) / 1e6;
  },
  seconds: (s) => {
    const n = num(s);
    return n === null || Number.isNaN(n) ? n : Math.round(n * 1000);
  },
  number: (s) => num(s),
  ref: (s) => Number(s) || 0,
  refs: (a) => (a || []).map(Number).filter((n) => n > 0),
  multi: (a, f) => (a || []).map((s) => optionValue(f.options, s)),
  select: (s, f) => optionValue(f.options, s),
  json: (s) => (String(s).trim() === '' ? null : JSON.parse(s)),
  // E-mail addresses, one list: separated by commas, semicolons, spaces or new lines.
  addresses: (s) => String(s || '').split(/[\s,;]+/).filter(Boolean),
  checkbox: (v) => !!v,
  breaks: (a) => (a || []).filter((b) => b.start || b.end).map((b) => ({ start: b.start, end: b.end })),
  password: (s) => (s ? s : undefined),
  any: (s) => s,
};

// The weekdays-and-rotation field (kind days) spreads over five form values.
function daysToForm(v, model, raw) {
  let d = raw;
  if (Array.isArray(d)) d = { weekdays: d };
  if (!d || typeof d !== 'object') d = {};
  v[`${model}__weekdays`] = (d.weekdays || []).map(String);
  v[`${model}__rot`] = !!d.rotation;
  v[`${model}__anchor`] = d.rotation ? d.rotation.anchor || '' : '';
  v[`${model}__on`] = d.rotation ? String(d.rotation.on) : '4';
  v[`${model}__off`] = d.rotation ? String(d.rotation.off) : '4';
}

function daysFromForm(v, model) {
  const out = { weekdays: (v[`${model}__weekdays`] || []).map(Number).sort((a, b) => a - b) };
  if (v[`${model}__rot`]) {
    out.rotation = { anchor: v[`${model}__anchor`], on: Number(v[`${model}__on`]) || 0, off: Number(v[`${model}__off`]) || 0 };
  }
  return out;
}

// Field messages of the API (English) that have a translation, by pattern.
const FIELD_MESSAGES = [
  [/^is required \(at most (\d+) characters\)/, 'js.field.required_max', (m) => ({ n: m[1] })],
  [/^is required/, 'js.field.required'],
  [/^at most (\d+) characters/, 'js.field.max_chars', (m) => ({ n: m[1] })],
  [/^target must be a fraction/, 'js.field.target'],
  [/^must be a fraction in \(0, 1\]/, 'js.field.target'],
  [/^must be greater than zero/, 'js.field.positive'],
  [/^must be at most 24 h/, 'js.field.max_day'],
  [/^must be at least 0 and below the downtime threshold/, 'js.field.micro_stop'],
  [/^the rectangle needs/, 'js.field.rectangle'],
  [/^must be a #rrggbb colou?r/, 'js.field.color'],
  [/^must not be negative/, 'js.field.not_negative'],
  [/^must be HH:MM/, 'js.field.hhmm'],
  [/^must be JSON/, 'js.field.json'],
  [/^must be 1-32 letters/, 'js.field.code'],
  [/^must be an e-mail address/, 'js.field.email'],
  [/is not an e-mail address$/, 'js.field.email'],
  [/^must be e-mail addresses/, 'js.field.emails'],
  [/^1 to (\d+) addresses/, 'js.field.addresses', (m) => ({ n: m[1] })],
  [/^must be an e-mail channel/, 'js.field.email_channel'],
  [/^must be an http or https URL/, 'js.field.url'],
  [/^1 to (\d+) channels/, 'js.field.channels', (m) => ({ n: m[1] })],
  [/^escalate_after and escalate_channels go together/, 'js.field.escalate'],
  [/^must match \[a-z0-9-\]/, 'js.field.slug'],
  [/^must match \[A-Za-z0-9_-\]/, 'js.field.device_name'],
  [/^unknown time zone/, 'js.field.zone'],
  [/^must be between (\S+) and (\S+)/, 'js.field.between', (m) => ({ min: m[1], max: m[2] })],
  [/^must be (\d+)\.\.(\d+)/, 'js.field.between', (m) => ({ min: m[1], max: m[2] })],
  [/^must have (\d+) to (\d+) characters/, 'js.field.length', (m) => ({ min: m[1], max: m[2] })],
  [/^no such /, 'js.field.no_such'],
  [/does not exist in this tenant/, 'js.field.no_such'],
  [/is outside your permissions/, 'js.field.outside'],
  [/^you cannot change your own role/, 'js.field.own_role'],
  [/^must be a (number|integer)/, 'js.field.number'],
  [/^must be (a )?(string|boolean|array|object)/, 'js.field.type'],
  [/^must be empty or one of/, 'js.field.choice'],
  [/^must be one of/, 'js.field.choice'],
  [/^cannot change/, 'js.field.fixed'],
  [/overlaps shift/, 'js.field.shift_overlap'],
  [/^shift .* break .* is outside the shift/, 'js.field.break_outside'],
  [/^shift .* break .* overlaps break/, 'js.field.break_overlap'],
  [/but is not Overnight|is Overnight but ends after/, 'js.field.overnight'],
  [/never occurs/, 'js.field.never'],
  [/^the reason tree is at most (\d+) levels deep/, 'js.field.reason_depth', (m) => ({ n: m[1] })],
  [/^a failure cannot sit under itself/, 'js.field.reason_cycle'],
];

export function fieldText(msg) {
  for (const [re, key, args] of FIELD_MESSAGES) {
    const m = re.exec(msg);
    if (m) return t(key, args ? args(m) : undefined);
  }
  return msg;
}

// cellKinds format a list cell by its column's kind.
function cellText(c, v, row, refs) {
  if (c.kind === 'bool') return v ? t('js.setup.yes') : t('js.setup.no');
  if (v === null || v === undefined || v === '') return '—';
  switch (c.kind) {
    case 'number':
      return decimal(v, 3);
    case 'integer':
      return integer(v);
    case 'percent':
      return percent(v, 1);
    case 'seconds':
      return v === 0 && c.zero ? c.zero : `${decimal(v / 1000, 3)} s`;
    case 'datetime':
      return fullDateTime(v);
    case 'option': {
      const o = (c.options || []).find((x) => String(x.value) === String(v));
      return o ? o.label : String(v);
    }
    case 'ref':
      return v ? refName(refs, c, v) : c.zero || '—';
    case 'refs':
      return Array.isArray(v) && v.length ? v.map((id) => refName(refs, c, id)).join(', ') : c.zero || t('js.setup.all_lines');
    case 'addresses':
      return Array.isArray(v) && v.length ? v.join(', ') : '—';
    case 'json': {
      const s = typeof v === 'string' ? v : JSON.stringify(v);
      return s.length > 140 ? `${s.slice(0, 140)}…` : s;
    }
    case 'span': {
      const end = getPath(row, c.extra);
      return end <= v ? `${v} – ${end} (+1)` : `${v} – ${end}`;
    }
    case 'days':
      return daysText(v);
    case 'breaks':
      return Array.isArray(v) && v.length ? v.map((b) => `${b.start} – ${b.end}`).join(', ') : '—';
    case 'rect':
      return `(${decimal(row.coord_x1, 2)}, ${decimal(row.coord_y1, 2)}) – (${decimal(row.coord_x2, 2)}, ${decimal(row.coord_y2, 2)})`;
    default:
      return String(v);
  }
}

function refName(refs, c, id) {
  const list = refs[c.ref] || [];
  const o = list.find((x) => Number(x.id) === Number(id));
  return o ? String(getPath(o, c.ref_label || 'name')) : `#${id}`;
}

export function daysText(v) {
  let d = v;
  if (Array.isArray(d)) d = { weekdays: d };
  if (!d || typeof d !== 'object') return t('js.setup.every_day');
  const wd = (d.weekdays || []).slice().sort((a, b) => a - b);
  let s = wd.length === 0 || wd.length === 7 ? t('js.setup.every_day') : wd.map((w) => t(`js.weekday.short.${w}`)).join(' ');
  if (d.rotation) s += ` · ${t('js.setup.rotation', { on: d.rotation.on, off: d.rotation.off, anchor: d.rotation.anchor })}`;
  return s;
}

// loadRefs reads the collections the screen's refs point into (once per page).
async function loadRefs(spec) {
  const paths = new Set();
  for (const x of [...spec.columns, ...spec.fields]) if (x.ref) paths.add(x.ref);
  const refs = {};
  await Promise.all(
    [...paths].map(async (p) => {
      try {
        refs[p] = items(await api(`${p}?limit=${MAX_ROWS}`));
      } catch {
        refs[p] = [];
      }
    }),
  );
  return refs;
}

export function setupScreen() {
  let spec = null;
  let hooks = {};
  return {
    rows: [],
    refs: {},
    next: null,
    loading: true,
    error: '',
    notice: '',
    confirming: null,
    zones: [],
    form: { open: false, mode: 'create', v: {}, row: null, errors: {}, general: [], busy: false, secret: null },

    async init() {
      spec = JSON.parse(document.getElementById('lp-screen').textContent);
      hooks = HOOKS[spec.slug] || {};
      if (spec.fields.some((f) => f.kind === 'zone') && Intl.supportedValuesOf) this.zones = Intl.supportedValuesOf('timeZone');
      this.form.v = this.blank();
      this.refs = await loadRefs(spec);
      if (spec.single) {
        await this.loadSingle();
      } else {
        await this.load(false);
      }
    },

    // ---- the list ----

    async load(more) {
      this.loading = true;
      const q = new URLSearchParams({ limit: String(spec.paged ? 100 : MAX_ROWS) });
      if (more && this.next !== null) q.set('after', String(this.next));
      if (spec.newest_first) q.set('order', 'desc');
      try {
        const data = await api(`${spec.api}?${q}`);
        const list = items(data);
        this.rows = more ? [...this.rows, ...list] : list;
        // A ref into the screen's own collection (a failure's parent) offers what was just saved.
        if (!more && !spec.paged && this.refs[spec.api]) this.refs[spec.api] = list;
        this.next = spec.paged && data && data.next_after !== undefined ? data.next_after : null;
        this.error = '';
      } catch (e) {
        this.error = errorText(e);
      } finally {
        this.loading = false;
      }
    },

    more() {
      return this.load(true);
    },

    rowKey(row) {
      return String(getPath(row, spec.id_field));
    },

    rowClass(row) {
      return spec.revoke && row.revoked_at ? 'opacity-50' : '';
    },

    column(name) {
      return spec.columns.find((c) => c.name === name) || { name, kind: 'text' };
    },

    cell(row, name) {
      if (hooks.unused && hooks.unused(name, row)) return '—';
      const c = this.column(name);
      return cellText(c, getPath(row, name), row, this.refs);
    },

    swatch(row, name) {
      const v = getPath(row, name);
      return { backgroundColor: typeof v === 'string' && /^#[0-9a-fA-F]{6}$/.test(v) ? v : 'transparent' };
    },

    badge(row, name) {
      return getPath(row, name) ? 'bg-emerald-950 text-emerald-300' : 'bg-slate-800 text-slate-400';
    },

    removable(row) {
      return !(spec.revoke && row.revoked_at);
    },

    // ---- the form ----

    blank() {
      const v = {};
      for (const f of spec.fields) this.setField(v, f, clone(f.default));
      return v;
    },

    setField(v, f, raw) {
      if (f.kind === 'days') {
        daysToForm(v, f.model, raw);
        return;
      }
      const conv = fromAPI[f.kind] || fromAPI.any;
      v[f.model] = raw === undefined && f.kind !== 'checkbox' && f.kind !== 'refs' && f.kind !== 'multi' && f.kind !== 'breaks' ? '' : conv(raw);
      if (f.kind === 'password') v[f.model] = '';
    },

    fill(row) {
      const v = {};
      for (const f of spec.fields) this.setField(v, f, getPath(row, f.name));
      return v;
    },

    create() {
      this.notice = '';
      this.form = { open: true, mode: 'create', v: this.blank(), row: null, errors: {}, general: [], busy: false, secret: null };
    },

    edit(row) {
      this.notice = '';
      this.form = { open: true, mode: 'edit', v: this.fill(row), row, errors: {}, general: [], busy: false, secret: null };
    },

    close() {
      this.form.open = false;
      this.form.secret = null;
    },

    // shown: create-only fields are hidden when editing, and fields that do not apply.
    shown(model) {
      const f = spec.fields.find((x) => x.model === model);
      if (f && hooks.unused && hooks.unused(f.name, this.form.v)) return false;
      return !(f && f.create && this.form.mode === 'edit');
    },

    // locked: fixed fields cannot change once the object exists.
    locked(model) {
      const f = spec.fields.find((x) => x.model === model);
      return !!(f && (f.read_only || (f.fixed && (this.form.mode === 'edit' || spec.single))));
    },

    choices(model) {
      const f = spec.fields.find((x) => x.model === model);
      if (!f) return [];
      if (!f.ref) return (f.options || []).map((o) => ({ value: String(o.value), label: o.label }));
      const where = Object.entries(f.ref_where || {});
      // An object is not offered as a reference to itself (a failure as its own parent).
      const self = f.ref === spec.api && this.form.row ? this.rowKey(this.form.row) : null;
      const list = (this.refs[f.ref] || [])
        .filter((o) => where.every(([k, v]) => String(getPath(o, k)) === v) && String(o.id) !== self)
        .map((o) => ({ value: String(o.id), label: String(getPath(o, f.ref_label || 'name')) }));
      return f.zero ? [{ value: '0', label: f.zero }, ...list] : list;
    },

    addItem(model) {
      this.form.v[model] = [...(this.form.v[model] || []), { start: '', end: '' }];
    },

    removeItem(model, i) {
      this.form.v[model] = this.form.v[model].filter((_, j) => j !== i);
    },

    // body builds the request body from the form (and, for Fixed fields, the original).
    body() {
      const out = spec.keep_row && this.form.row ? clone(this.form.row) : {};
      const errors = {};
      for (const f of spec.fields) {
        if ((f.create && this.form.mode === 'edit') || f.read_only) continue;
        let v;
        if (f.fixed && this.form.row) {
          v = getPath(this.form.row, f.name);
        } else if (f.kind === 'hidden') {
          v = clone(f.default);
        } else if (f.kind === 'days') {
          v = daysFromForm(this.form.v, f.model);
        } else {
          const conv = toAPI[f.kind] || toAPI.any;
          try {
            v = conv(this.form.v[f.model], f);
          } catch {
            errors[f.model] = t('js.field.json');
            continue;
          }
          if (typeof v === 'number' && Number.isNaN(v)) {
            errors[f.model] = t('js.field.number');
            continue;
          }
        }
        if (v !== undefined) setPath(out, f.name, v);
      }
      if (hooks.beforeSave) hooks.beforeSave(out, this.form);
      return { out, errors };
    },

    // showErrors puts the API's field errors next to their fields; the rest on top.
    showErrors(e) {
      this.form.errors = {};
      this.form.general = [];
      if (!(e instanceof ApiError) || !e.fields.length) {
        this.form.general = [errorText(e)];
        return;
      }
      for (const fe of e.fields) {
        const model = this.modelOf(fe.field);
        const msg = fieldText(fe.message);
        if (model) this.form.errors[model] = msg;
        else this.form.general.push(msg);
      }
    },

    // modelOf finds the field an API error names: exactly, or by its longest prefix
    // ("layout_config.widgets[0]" → layout_config).
    modelOf(name) {
      let n = String(name);
      for (;;) {
        const f = spec.fields.find((x) => x.name === n || x.name.endsWith(`.${n}`));
        if (f && f.kind !== 'hidden' && this.shown(f.model)) return f.model;
        const cut = Math.max(n.lastIndexOf('.'), n.lastIndexOf('['));
        if (cut <= 0) return '';
        n = n.slice(0, cut);
      }
    },

    async save() {
      if (this.form.busy) return;
      const { out, errors } = this.body();
      this.form.errors = errors;
      this.form.general = [];
      if (Object.keys(errors).length) return;
      this.form.busy = true;
      try {
        let res;
        if (spec.single) {
          res = await api(spec.api, { method: 'PUT', body: out });
          this.form.v = this.fill(res || out);
        } else if (this.form.mode === 'edit') {
          res = await api(`${spec.api}/${encodeURIComponent(this.rowKey(this.form.row))}`, { method: 'PUT', body: out });
        } else if (spec.upsert) {
          const key = getPath(out, spec.id_field);
          const body = { ...out };
          delete body[spec.id_field];
          res = await api(`${spec.api}/${encodeURIComponent(key)}`, { method: 'PUT', body });
        } else {
          res = await api(spec.api, { method: 'POST', body: out });
        }
        this.notice = t('js.setup.saved');
        window.dispatchEvent(new CustomEvent('lp-saved'));
        if (spec.single) return;
        if (spec.secret && this.form.mode === 'create') {
          this.form.secret = res;
          this.form.mode = 'secret';
        } else {
          this.form.open = false;
        }
        await this.load(false);
      } catch (e) {
        this.showErrors(e);
      } finally {
        this.form.busy = false;
      }
    },

    async loadSingle() {
      this.loading = true;
      try {
        const row = await api(spec.api);
        this.form = { open: true, mode: 'edit', v: this.fill(row), row, errors: {}, general: [], busy: false, secret: null };
      } catch (e) {
        this.error = errorText(e);
      } finally {
        this.loading = false;
      }
    },

    confirm(row) {
      this.confirming = this.rowKey(row);
    },

    async remove(row) {
      this.confirming = null;
      try {
        await api(`${spec.api}/${encodeURIComponent(this.rowKey(row))}`, { method: 'DELETE' });
        this.notice = spec.revoke ? t('js.setup.revoked') : t('js.setup.deleted');
        window.dispatchEvent(new CustomEvent('lp-saved'));
        this.error = '';
        await this.load(false);
      } catch (e) {
        this.error = errorText(e);
      }
    },

    // ---- values shown once after a create ----

    secret(path) {
      const v = this.form.secret ? getPath(this.form.secret, path) : '';
      if (Array.isArray(v)) return v.join('\n');
      return v === undefined || v === null ? '' : String(v);
    },

    secretURL(path) {
      const v = this.secret(path);
      return v ? new URL(v, location.origin).href : '';
    },
  };
}
