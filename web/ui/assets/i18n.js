// The page's language: strings, numbers, dates and times for the scripts. The server picks
// the language (the user's own, else the tenant's, else the browser's) and renders it into
// <html lang>, the tenant's time zone into <html data-tz>, and the strings the scripts show
// (the catalogue's "js." keys, web/ui/i18n) into <script id="lp-i18n" type="application/json">.
// Every visible string of a script goes through t(); see web/ui/README.md.

let strings = null;

function catalogue() {
  if (strings === null) {
    strings = {};
    const el = document.getElementById('lp-i18n');
    if (el) {
      try {
        strings = JSON.parse(el.textContent) || {};
      } catch {
        strings = {};
      }
    }
  }
  return strings;
}

// lang is the page's language ("en", "es").
export function lang() {
  return document.documentElement.lang || 'en';
}

// zone is the IANA time zone times are shown in (the tenant's), or undefined (the browser's).
export function zone() {
  return document.documentElement.dataset.tz || undefined;
}

// t returns the text of key ("js.…") with {name} placeholders filled from args. A missing
// key shows as ⟦key⟧ (the catalogue test fails on it first).
export function t(key, args) {
  const s = catalogue()[key];
  if (s === undefined) return `⟦${key}⟧`;
  if (!args) return s;
  return s.replace(/\{([a-z_]+)\}/g, (m, name) => (args[name] === undefined ? m : String(args[name])));
}

// tn returns the plural form of key for count n (key.one, key.other, …); {n} is the count.
export function tn(key, n, args) {
  const cat = new Intl.PluralRules(lang()).select(n);
  const k = catalogue()[`${key}.${cat}`] !== undefined ? `${key}.${cat}` : `${key}.other`;
  return t(k, { n: integer(n), ...(args || {}) });
}

const cache = new Map();
function formatter(kind, opts) {
  const key = `${kind}|${lang()}|${zone()}|${JSON.stringify(opts)}`;
  let f = cache.get(key);
  if (!f) {
    f = kind === 'n' ? new Intl.NumberFormat(lang(), opts) : new Intl.DateTimeFormat(lang(), { timeZone: zone(), ...opts });
    cache.set(key, f);
  }
  return f;
}

function finite(x) {
  return typeof x === 'number' && Number.isFinite(x);
}

// integer writes a count with the language's digit grouping; "—" when unknown.
export function integer(x) {
  return finite(x) ? formatter('n', { maximumFractionDigits: 0 }).format(Math.round(x)) : '—';
}

// decimal writes x with up to digits fraction digits.
export function decimal(x, digits) {
  return finite(x) ? formatter('n', { maximumFractionDigits: digits }).format(x) : '—';
}

// fixed writes x with exactly digits fraction digits (minutes: "12.0").
export function fixed(x, digits) {
  return finite(x) ? formatter('n', { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(x) : '—';
}

// percent writes a fraction (0.612) as a percentage with digits fraction digits (61.2%).
export function percent(x, digits) {
  const d = digits === undefined ? 1 : digits;
  return finite(x) ? formatter('n', { style: 'percent', minimumFractionDigits: d, maximumFractionDigits: d }).format(x) : '—';
}

function date(v) {
  const d = v instanceof Date ? v : v ? new Date(v) : null;
  return d && !Number.isNaN(d.getTime()) ? d : null;
}

// time is the wall-clock time (hours and minutes) of an instant in the tenant's zone.
export function time(v) {
  const d = date(v);
  return d ? formatter('d', { hour: '2-digit', minute: '2-digit' }).format(d) : '—';
}

// dateTime is day, month and time with seconds.
export function dateTime(v) {
  const d = date(v);
  return d ? formatter('d', { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(d) : '—';
}

// shortDateTime is day, month and time.
export function shortDateTime(v) {
  const d = date(v);
  return d ? formatter('d', { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }).format(d) : '—';
}

// fullDateTime is the date with the year and the time with seconds.
export function fullDateTime(v) {
  const d = date(v);
  return d ? formatter('d', { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(d) : '—';
}

// dayLabel is a weekday with its date ("Mon 30 Mar").
export function dayLabel(v) {
  const d = date(v);
  return d ? formatter('d', { weekday: 'short', day: 'numeric', month: 'short' }).format(d) : '—';
}

// duration writes milliseconds as "1 h 5 min", "3 min 20 s" or "45 s".
export function duration(ms) {
  if (!finite(ms) || ms < 0) return '—';
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h) return `${integer(h)} h ${m} min`;
  if (m) return `${m} min ${sec} s`;
  return `${sec} s`;
}
