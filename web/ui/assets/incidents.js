// Incidents on the line page: report one from a stop (failure, description), list the
// line's open incidents, add a solution, mark solved; the solutions known for a failure
// show under every stop coded with it. Mixed into the lineDetail component.
import { api, errorText, items } from './api.js';
import { dateTime, t } from './i18n.js';

export function incidents() {
  return {
    open: [],
    known: {}, // failure code -> [{key, text}]
    incError: '',

    async loadIncidents() {
      try {
        const all = items(await api('/api/v1/incidents?limit=500'), 'incidents');
        const byId = new Map(this.failures.map((f) => [f.id, f]));
        this.open = all
          .filter((i) => Number(i.line_id) === this.lineId && !i.resolved_at)
          .sort((a, b) => String(b.occurred_at).localeCompare(String(a.occurred_at)))
          .map((i) => ({
            key: String(i.id),
            raw: i,
            title: i.title,
            failure: byId.has(i.failure_id) ? byId.get(i.failure_id).label : '',
            description: i.description,
            when: dateTime(i.occurred_at),
            solution: i.solution || '',
            note: '',
          }));
        const known = {};
        for (const i of all) {
          const f = byId.get(i.failure_id);
          if (!f || !i.has_solution || !i.solution) continue;
          (known[f.code] = known[f.code] || []).push({ key: String(i.id), text: i.solution, title: i.title });
        }
        this.known = known;
        this.incError = '';
      } catch (e) {
        this.incError = t('js.incident.load_failed', { message: errorText(e) });
      }
    },

    solutionsFor(r) {
      return (r.reason && this.known[r.reason]) || [];
    },

    canReport(r) {
      return r.id > 0 && !r.reporting;
    },

    startReport(r) {
      const f = this.failures.find((x) => x.code === r.reason);
      r.report = { failure: f ? String(f.id) : '', title: f ? f.label : t('js.incident.stop_at', { time: r.start }), description: '', error: '' };
      r.reporting = true;
    },

    cancelReport(r) {
      r.reporting = false;
    },

    async sendReport(r) {
      const rep = r.report;
      try {
        await api('/api/v1/incidents', {
          method: 'POST',
          body: {
            line_id: this.lineId,
            downtime_event_id: r.id,
            failure_id: Number(rep.failure) || 0,
            title: rep.title,
            description: rep.description,
            solution: '',
            has_solution: false,
            occurred_at: r.startISO,
            resolved_at: null,
          },
        });
        r.reporting = false;
        r.note = t('js.incident.reported');
        r.noteClass = 'text-emerald-400';
        await this.loadIncidents();
      } catch (e) {
        rep.error = e.fields && e.fields.length ? e.fields.map((f) => `${f.field}: ${f.message}`).join('; ') : errorText(e);
      }
    },

    async saveIncident(inc, solved) {
      const body = { ...inc.raw, solution: inc.solution, has_solution: solved || inc.raw.has_solution, resolved_at: solved ? new Date().toISOString() : null };
      if (solved && !inc.solution.trim()) {
        inc.note = t('js.incident.needs_solution');
        return;
      }
      try {
        inc.raw = await api(`/api/v1/incidents/${inc.raw.id}`, { method: 'PUT', body });
        inc.note = t('js.saved');
        if (solved) await this.loadIncidents();
      } catch (e) {
        inc.note = errorText(e);
      }
    },

    saveSolution(inc) {
      return this.saveIncident(inc, false);
    },

    markSolved(inc) {
      return this.saveIncident(inc, true);
    },
  };
}
