// plantPareto is the Alpine component of /losses: the plant-wide Pareto of stops over
// every line the viewer may see, grouped by reason, category, line or shift, and the loss
// waterfall of those lines over the same period.
import { api, errorText } from './api.js';
import { t } from './i18n.js';
import { drawPareto, paretoLabel, uncodedNote } from './pareto.js';
import { num, pct } from './tile.js';
import { loadWaterfall } from './waterfall.js';

const HOURS = { '24h': 24, '7d': 24 * 7, '30d': 24 * 30 };

export function plantPareto() {
  let chart = null;
  return {
    group: 'reason',
    range: '7d',
    rows: [],
    uncoded: '',
    error: '',
    waterfall: [],
    lossError: '',
    lossEmpty: false,

    init() {
      this.load();
      this.loadLosses();
    },

    destroy() {
      if (chart) chart.destroy();
      chart = null;
    },

    rangeClass(r) {
      return r === this.range ? 'bg-sky-600 text-white' : 'bg-slate-800 text-slate-300 hover:bg-slate-700';
    },

    setRange(r) {
      if (!HOURS[r]) return;
      this.range = r;
      this.load();
      this.loadLosses();
    },

    // span is the chosen period, from now back.
    span() {
      const to = new Date();
      const from = new Date(to.getTime() - HOURS[this.range] * 3600 * 1000);
      return { from: from.toISOString(), to: to.toISOString() };
    },

    // loadLosses reads the waterfall of every line the viewer may see over the period.
    loadLosses() {
      return loadWaterfall(this, `/api/v1/losses?${new URLSearchParams(this.span())}`);
    },

    async load() {
      const q = new URLSearchParams({ ...this.span(), group: this.group });
      let p = null;
      try {
        p = await api(`/api/v1/downtime/pareto?${q}`);
        this.error = '';
      } catch (e) {
        this.error = t('js.losses.load_failed', { message: errorText(e) });
      }
      const groups = p && Array.isArray(p.groups) ? p.groups : [];
      this.rows = groups.map((g) => ({
        key: `${this.group}:${g.key}`,
        label: paretoLabel(g),
        count: num(g.count),
        minutes: num(Math.round((Number(g.duration_s) || 0) / 60)),
        share: pct(g.share),
        cumulative: pct(g.cumulative),
      }));
      this.uncoded = uncodedNote(p);
      chart = drawPareto(this.$refs.pareto, p, chart);
    },
  };
}
