// The tile model shared by the dashboard, the TV view and the line page: plain data that
// Alpine renders, updated from snapshot/kpi/downtime messages (see docs/CONTRACT.md).
import { dateTime, decimal, duration, integer, percent, shortDateTime, t, time } from './i18n.js';

// STATES are the looks of each line state; their labels are stateLabel(state).
export const STATES = {
  running: { badge: 'bg-emerald-500 text-emerald-950', ring: 'border-emerald-500/70', tv: 'bg-emerald-900/40 border-emerald-500' },
  down: { badge: 'bg-red-600 text-white', ring: 'border-red-500', tv: 'bg-red-950/70 border-red-500' },
  planned_stop: { badge: 'bg-amber-400 text-amber-950', ring: 'border-amber-400/70', tv: 'bg-amber-950/40 border-amber-400' },
  no_shift: { badge: 'bg-slate-500 text-slate-950', ring: 'border-slate-600', tv: 'bg-slate-900 border-slate-600' },
  offline: { badge: 'bg-fuchsia-700 text-white', ring: 'border-fuchsia-500', tv: 'bg-fuchsia-950/60 border-fuchsia-500' },
  no_data: { badge: 'bg-slate-300 text-slate-900', ring: 'border-dashed border-slate-400', tv: 'bg-slate-900 border-dashed border-slate-400' },
  unknown: { badge: 'bg-slate-700 text-slate-200', ring: 'border-slate-700', tv: 'bg-slate-900 border-slate-700' },
};

const STATE_LABELS = {
  running: 'js.state.running',
  down: 'js.state.down',
  planned_stop: 'js.state.planned_stop',
  no_shift: 'js.state.no_shift',
  no_data: 'js.state.no_data',
  offline: 'js.state.offline',
  unknown: 'js.state.unknown',
};

// stateLabel is the translated name of a line state.
export function stateLabel(state) {
  return t(STATE_LABELS[state] || STATE_LABELS.unknown);
}

const PALETTE = ['#38bdf8', '#a78bfa', '#f472b6', '#facc15', '#34d399', '#fb923c', '#60a5fa', '#f87171'];

export function pct(x) {
  return percent(x, 1);
}

export function num(x) {
  return integer(x);
}

export function rate(x) {
  if (typeof x !== 'number' || !Number.isFinite(x)) return '—';
  return x < 10 ? decimal(x, 1) : integer(x);
}

export const clockTime = time;
export { dateTime, duration, shortDateTime };

function bar(x) {
  const v = typeof x === 'number' && Number.isFinite(x) ? Math.max(0, Math.min(1, x)) : 0;
  return { width: `${(v * 100).toFixed(1)}%` };
}

function safeColor(c, i) {
  return typeof c === 'string' && /^#[0-9a-fA-F]{3,8}$/.test(c) ? c : PALETTE[i % PALETTE.length];
}

// target turns a line's OEE targets (fractions, or percents from older data) into one OEE target.
function oeeTarget(line) {
  const f = (v) => (typeof v === 'number' && v > 0 ? (v > 1 ? v / 100 : v) : null);
  const a = f(line.availability);
  const p = f(line.performance);
  const q = f(line.quality);
  return a && p && q ? a * p * q : 0.75;
}

export function newTile(line) {
  const id = Number(line.id);
  return {
    id,
    name: line.name || t('js.tile.line', { id }),
    href: `/lines/${id}`,
    target: oeeTarget(line),
    state: 'unknown',
    stateLabel: stateLabel('unknown'),
    hasData: false,
    oeeValue: null,
    oee: '—',
    availability: '—',
    performance: '—',
    quality: '—',
    aBar: bar(0),
    pBar: bar(0),
    qBar: bar(0),
    perfOver100: false,
    total: '—',
    good: '—',
    reject: '—',
    plan: '',
    planNow: '',
    rate: '—',
    shift: '—',
    mix: [],
    downSince: null,
    unmonitored: '',
    updated: null,
    receivedAt: 0,
  };
}

// STALE_MS is how old a tile's data may be before it is shown stale: three KPI heartbeats
// (the engine sends one every 3 s per line, in every state).
export const STALE_MS = 9000;

// isStale says whether a tile that had data has heard nothing for STALE_MS at now (ms).
export function isStale(tile, now) {
  return !!tile.receivedAt && now - tile.receivedAt > STALE_MS;
}

// unmonitoredShare is the part of a message's planned time with no data (docs/OEE.md), or
// null when nothing was planned.
export function unmonitoredShare(m) {
  const planned = Number(m && m.planned_s);
  const unmon = Number(m && m.unmonitored_s);
  if (!Number.isFinite(planned) || planned <= 0 || !Number.isFinite(unmon)) return null;
  return Math.max(0, Math.min(1, unmon / planned));
}

// unmonitoredText labels the unmonitored share ('' when there is none).
export function unmonitoredText(m) {
  const share = unmonitoredShare(m);
  if (share === null || share <= 0) return '';
  // Never round a part up to the whole (99.6 % of a shift without data is not "100 %").
  const digits = share < 0.01 || share > 0.99 ? 1 : 0;
  return t('js.tile.unmonitored', { share: percent(Math.min(share, share < 1 ? 0.999 : 1), digits) });
}

// monitored says whether any of a message's planned time had data: when none had, A/P/Q/OEE
// are not figures (shown as "—", never as 0 % or 100 %).
export function monitored(m) {
  const share = unmonitoredShare(m);
  return share === null ? m && m.state !== 'no_data' : share < 1;
}

// applyKPI copies one kpi/snapshot message into a tile.
export function applyKPI(tile, m) {
  const state = STATES[m.state] ? m.state : 'unknown';
  tile.state = state;
  tile.stateLabel = stateLabel(state);
  tile.hasData = true;
  tile.receivedAt = Date.now();
  const known = monitored(m);
  tile.oeeValue = known && typeof m.oee === 'number' ? m.oee : null;
  tile.oee = known ? pct(m.oee) : '—';
  tile.availability = known ? pct(m.availability) : '—';
  tile.performance = known ? pct(m.performance) : '—';
  tile.quality = known ? pct(m.quality) : '—';
  tile.unmonitored = unmonitoredText(m);
  tile.aBar = bar(m.availability);
  tile.pBar = bar(m.performance);
  tile.qBar = bar(m.quality);
  tile.perfOver100 = !!m.performance_over_100;
  const c = m.counts || {};
  tile.total = num(c.total);
  tile.good = num(c.good);
  tile.reject = num(c.reject);
  // Target vs actual: good units against the shift's planned quantity (docs/OEE.md).
  const target = Number(m.target) || 0;
  tile.plan = target > 0 ? t('js.target.actual_of', { actual: num(c.good), target: num(target) }) : '';
  tile.planNow = target > 0 && m.target_to_now !== undefined ? t('js.target.to_now', { count: num(Number(m.target_to_now) || 0) }) : '';
  tile.rate = rate(m.rate_per_min);
  tile.shift = m.shift && m.shift.name ? m.shift.name : t('js.state.no_shift');
  const products = Array.isArray(m.products) ? m.products.filter((p) => p && p.count > 0) : [];
  const sum = products.reduce((s, p) => s + p.count, 0);
  tile.mix = products.map((p, i) => {
    const share = sum ? p.count / sum : 0;
    const name = p.name || t('js.tile.product', { id: p.id });
    return {
      key: `${p.id}`,
      name,
      label: `${name} ${percent(share, 0)}`,
      title: `${name}: ${num(p.count)}`,
      style: { width: `${(share * 100).toFixed(2)}%`, backgroundColor: safeColor(p.color, i) },
      dot: { backgroundColor: safeColor(p.color, i) },
    };
  });
  // The running stop comes with every update, so a page opened in the middle of it shows it.
  const open = m.open_downtime;
  tile.downSince = state === 'down' && open && open.start ? open.start : state === 'down' ? tile.downSince : null;
  tile.updated = m.at || null;
}

// applyDowntime marks a tile down (or clears it) from a downtime event.
export function applyDowntime(tile, ev) {
  if (!ev) return;
  if (ev.state === 'started') {
    tile.state = 'down';
    tile.stateLabel = stateLabel('down');
    tile.downSince = ev.start || new Date().toISOString();
  } else {
    // "ended" or "cancelled": the next kpi update brings the new state
    tile.downSince = null;
  }
}

export function oeeClass(tile) {
  if (tile.oeeValue === null) return 'text-slate-400';
  if (tile.oeeValue >= tile.target) return 'text-emerald-400';
  if (tile.oeeValue >= tile.target * 0.8) return 'text-amber-300';
  return 'text-red-400';
}
