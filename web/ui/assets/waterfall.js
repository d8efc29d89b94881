// The loss waterfall (six big losses) of GET /api/v1/lines/{id}/losses: planned time, each
// loss stepping down from what is left, and fully productive time, as horizontal SVG bars
// with minutes and share of planned time. The printable shift report draws the same rows
// on the server (web/ui/report.go, waterfallView): keep the two in step.
import { fixed, percent, t } from './i18n.js';
import { paretoLabel } from './pareto.js';

// BUCKETS name the kinds of loss.Waterfall's buckets and the subtotals between them.
const BUCKETS = {
  planned: 'js.losses.bucket.planned',
  unmonitored: 'js.losses.bucket.unmonitored',
  planned_stop: 'js.losses.bucket.planned_stop',
  loading: 'js.losses.bucket.loading',
  unplanned_stop: 'js.losses.bucket.unplanned_stop',
  changeover: 'js.losses.bucket.changeover',
  run: 'js.losses.bucket.run',
  micro_stop: 'js.losses.bucket.micro_stop',
  reduced_speed: 'js.losses.bucket.reduced_speed',
  net_run: 'js.losses.bucket.net_run',
  startup_reject: 'js.losses.bucket.startup_reject',
  process_reject: 'js.losses.bucket.process_reject',
  fully_productive: 'js.losses.bucket.fully_productive',
};

// STEP is each kind's place: the OEE factor its loss counts against (0 outside OEE,
// 1 availability, 2 performance, 3 quality, 4 the rest).
const STEP = { unmonitored: 0, planned_stop: 0, unplanned_stop: 1, changeover: 1, micro_stop: 2, reduced_speed: 2, startup_reject: 3, process_reject: 3, fully_productive: 4 };

// SUBTOTALS end each step: the time left after its losses (fields of loss.Waterfall).
const SUBTOTALS = [
  { kind: 'loading', field: 'loading_s' },
  { kind: 'run', field: 'run_s' },
  { kind: 'net_run', field: 'net_run_s' },
];

// COLORS are the bar colours of each step (the legend under the chart, partials/waterfall.html).
const COLORS = ['#64748b', '#ef4444', '#f59e0b', '#a855f7', '#10b981'];
const TOTAL = '#0ea5e9';

// waterfallRows lays out the waterfall w (loss.Waterfall) as rows of bars on a 0..100 box:
// the totals from 0, each loss from the time left after it to the time left before it.
// Buckets without time are left out, but fully productive; none without planned time.
export function waterfallRows(w) {
  const planned = Number(w && w.planned_s) || 0;
  if (planned <= 0) return [];
  const raw = [{ kind: 'planned', total: true, seconds: planned }];
  let level = planned;
  let top = planned;
  let step = 0;
  for (const b of Array.isArray(w.buckets) ? w.buckets : []) {
    const s = Number(b.seconds) || 0;
    const next = STEP[b.kind] ?? step;
    for (; step < next && step < SUBTOTALS.length; step++) {
      level = Number(w[SUBTOTALS[step].field]) || 0;
      top = Math.max(top, level);
      raw.push({ kind: SUBTOTALS[step].kind, total: true, seconds: level });
    }
    if (s === 0 && b.kind !== 'fully_productive') continue;
    if (b.kind === 'fully_productive') {
      raw.push({ kind: b.kind, total: true, seconds: s, color: COLORS[4] });
      continue;
    }
    const label = b.kind === 'planned_stop' || b.kind === 'unplanned_stop' ? `${t(BUCKETS[b.kind])}: ${paretoLabel(b)}` : '';
    raw.push({ kind: b.kind, key: b.key || '', label, seconds: s, from: level - s, to: level, color: COLORS[next] || COLORS[0] });
    level -= s;
    top = Math.max(top, level);
  }
  const box = (v) => Math.round((Math.max(v, 0) / top) * 10000) / 100;
  return raw.map((r, i) => {
    const lo = r.total ? 0 : Math.min(r.from, r.to);
    const hi = r.total ? r.seconds : Math.max(r.from, r.to);
    return {
      id: `${i}:${r.kind}:${r.key || ''}`,
      kind: r.kind,
      total: !!r.total,
      label: r.label || t(BUCKETS[r.kind] || BUCKETS.planned),
      value: t('js.losses.waterfall.value', { minutes: fixed(r.seconds / 60, 1), share: percent(r.seconds / planned, 1) }),
      x: box(lo),
      width: Math.max(Math.round((box(hi) - box(lo)) * 100) / 100, r.seconds ? 0.2 : 0),
      color: r.color || TOTAL,
    };
  });
}
