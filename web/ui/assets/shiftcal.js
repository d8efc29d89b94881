// shiftCalendar draws 14 days (from today, or the date chosen) of shift instances as the engine computes them
// (GET /api/v1/shifts/calendar): one row per local date, x = real minutes since local
// midnight, so the night the clocks change is visibly longer or shorter and such a day's
// track is 23 or 25 hours long. A shift running past midnight continues on the next row, and
// one that started the evening before the first row shows its tail there.
import { api, errorText, items } from './api.js';
import { dayLabel, t } from './i18n.js';

const SCALE = 25 * 60; // the longest local day fills the width
const COLORS = ['border-sky-500 bg-sky-700/80', 'border-violet-500 bg-violet-700/80', 'border-emerald-500 bg-emerald-700/80', 'border-amber-500 bg-amber-700/80', 'border-pink-500 bg-pink-700/80'];
const LANE_PX = 22;

function pct(min) {
  return `${((min / SCALE) * 100).toFixed(3)}%`;
}

function hours(min) {
  const h = min / 60;
  return Number.isInteger(h) ? `${h} h` : `${Math.floor(h)} h ${min % 60} min`;
}

export function shiftCalendar() {
  return {
    lines: [],
    line: '0',
    start: '', // first local date shown, YYYY-MM-DD; '' = today in the plant's zone
    rows: [],
    ticks: [0, 6, 12, 18, 24].map((h) => ({ hour: h, label: `${String(h).padStart(2, '0')}:00`, style: { left: pct(h * 60) } })),
    count: 0,
    loading: true,
    error: '',

    async init() {
      try {
        this.lines = items(await api('/api/v1/lines?limit=500'));
      } catch {
        this.lines = [];
      }
      await this.load();
    },

    async load() {
      this.loading = true;
      const q = new URLSearchParams({ days: '14' });
      if (Number(this.line) > 0) q.set('line_id', this.line);
      if (/^\d{4}-\d{2}-\d{2}$/.test(this.start)) q.set('start', this.start);
      try {
        const cal = await api(`/api/v1/shifts/calendar?${q}`);
        this.rows = this.build(cal);
        this.count = (cal.items || []).length;
        this.error = '';
      } catch (e) {
        this.error = errorText(e);
      } finally {
        this.loading = false;
      }
    },

    build(cal) {
      const days = cal.days || [];
      const index = new Map(days.map((d, i) => [d.date, i]));
      const segs = days.map(() => []);
      const color = new Map();
      for (const it of cal.items || []) {
        if (!color.has(it.shift_id)) color.set(it.shift_id, COLORS[color.size % COLORS.length]);
        let i = index.get(it.date);
        let from = it.start_min;
        let left = it.minutes;
        let first = true;
        let offset = 0; // minutes of the instance already drawn on earlier rows
        if (i === undefined) {
          // Started the day before the first row: only its tail is drawn, as a continuation.
          if (!days.length) continue;
          offset = Math.round((Date.parse(days[0].start) - Date.parse(it.start)) / 60000);
          if (offset <= 0) continue;
          i = 0;
          from = 0;
          left -= offset;
          first = false;
        }
        while (left > 0 && i < days.length) {
          const room = days[i].minutes - from;
          const len = Math.min(left, room);
          const breaks = (it.breaks || [])
            .map((b, k) => ({ key: k, from: b.start_min - it.start_min - offset, len: b.minutes }))
            .filter((b) => b.from < len && b.from + b.len > 0)
            .map((b) => {
              const s = Math.max(0, b.from);
              const e = Math.min(len, b.from + b.len);
              return { key: b.key, style: { left: `${((s / len) * 100).toFixed(3)}%`, width: `${(((e - s) / len) * 100).toFixed(3)}%` } };
            });
          const label = first ? `${it.name} · ${hours(it.minutes)}` : `→ ${it.name}`;
          segs[i].push({
            key: `${it.shift_id}-${it.date}-${i}`,
            shift: it.shift_id,
            minutes: it.minutes,
            from,
            len,
            label,
            title: `${it.name}: ${hours(it.minutes)} (${t('js.shiftcal.planned', { h: hours(it.planned_minutes) })})`,
            cls: `${color.get(it.shift_id)}${first ? '' : ' border-dashed opacity-80'}`,
            breaks,
          });
          left -= len;
          offset += len;
          from = 0;
          first = false;
          i++;
        }
      }
      return days.map((d, i) => {
        // Lanes: shifts of different lines may run at once.
        const lanes = [];
        for (const s of segs[i].sort((a, b) => a.from - b.from)) {
          let lane = lanes.findIndex((end) => end <= s.from);
          if (lane < 0) lane = lanes.push(0) - 1;
          lanes[lane] = s.from + s.len;
          s.style = { left: pct(s.from), width: pct(s.len), top: `${lane * LANE_PX + 2}px`, height: `${LANE_PX - 4}px` };
        }
        let dst = '';
        if (d.minutes !== 1440) dst = t('js.shiftcal.dst', { h: hours(d.minutes) });
        return {
          date: d.date,
          minutes: d.minutes,
          label: dayLabel(`${d.date}T12:00:00Z`),
          dst,
          track: { width: pct(d.minutes) },
          height: { height: `${Math.max(1, lanes.length) * LANE_PX + 4}px` },
          segments: segs[i],
        };
      });
    },
  };
}

// auditVerify checks the audit hash chain (GET /api/v1/audit/verify).
export function auditVerify() {
  return {
    busy: false,
    text: '',
    cls: '',
    async verify() {
      this.busy = true;
      try {
        const r = await api('/api/v1/audit/verify');
        if (r.ok) {
          this.text = t('js.audit.intact', { n: r.entries, seq: r.last_seq });
          this.cls = 'border-emerald-800 bg-emerald-950 text-emerald-200';
        } else {
          this.text = t('js.audit.broken', { seq: r.broken_seq, reason: r.reason });
          this.cls = 'border-red-800 bg-red-950 text-red-200';
        }
      } catch (e) {
        this.text = errorText(e);
        this.cls = 'border-red-800 bg-red-950 text-red-200';
      } finally {
        this.busy = false;
      }
    },
  };
}
