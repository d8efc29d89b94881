// The loss waterfall (six big losses) of GET /api/v1/lines/{id}/losses and of the plant's
// GET /api/v1/losses: the API lays it out (loss.Bar: planned time, each loss stepping down from what is left, the totals
// between the OEE factors, fully productive time, on a 0..100 box, in their colours), as
// it does for the printable report; this only words each bar.
import { api, errorText } from './api.js';
import { fixed, percent, t } from './i18n.js';
import { paretoLabel } from './pareto.js';

// BUCKETS name the kinds of loss.Waterfall's buckets and the totals between them.
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

// waterfallRows words the bars of the waterfall w (loss.Waterfall's bars) for the page.
export function waterfallRows(w) {
  const bars = w && Array.isArray(w.bars) ? w.bars : [];
  return bars.map((b, i) => {
    const name = t(BUCKETS[b.kind] || BUCKETS.planned);
    const stop = b.kind === 'planned_stop' || b.kind === 'unplanned_stop';
    return {
      id: `${i}:${b.kind}:${b.key || ''}`,
      kind: b.kind,
      total: !!b.total,
      label: stop ? `${name}: ${paretoLabel(b)}` : name,
      value: t('js.losses.waterfall.value', { minutes: fixed((Number(b.seconds) || 0) / 60, 1), share: percent(Number(b.share) || 0, 1) }),
      x: Number(b.x) || 0,
      width: Number(b.width) || 0,
      color: b.color,
    };
  });
}

// loadWaterfall reads the waterfall at url (an answer with losses) into the Alpine
// component c: its waterfall, lossError and lossEmpty, which partials/waterfall.html shows.
export async function loadWaterfall(c, url) {
  try {
    const r = await api(url);
    c.waterfall = waterfallRows(r && r.losses);
    c.lossError = '';
  } catch (e) {
    c.waterfall = [];
    c.lossError = t('js.losses.waterfall.load_failed', { message: errorText(e) });
  }
  c.lossEmpty = c.waterfall.length === 0;
}
