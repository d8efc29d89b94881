// savedViews is the Alpine component of the saved views on /losses: the viewer's named
// data queries (saved views) and its recent history, where a query is saved by giving it
// a name (PUT /api/v1/queries/{id}); an empty name returns a view to the history.
import { api, errorText } from './api.js';
import { t, dateTime } from './i18n.js';

const RECENT = 20;
const MAX_PAGES = 10;

// all reads every page of a list, oldest first (at most MAX_PAGES pages).
async function all(path) {
  let out = [];
  let after = 0;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page = await api(`${path}&limit=500&after=${after}`);
    out = out.concat(page && Array.isArray(page.items) ? page.items : []);
    if (!page || !page.next_after) break;
    after = page.next_after;
  }
  return out;
}

function describe(q) {
  let f = {};
  try {
    f = typeof q.filters === 'string' ? JSON.parse(q.filters) : q.filters || {};
  } catch {
    f = {};
  }
  const parts = [f.kind || ''];
  if (q.line) parts.push(t('js.views.line', { id: q.line }));
  if (q.start_date && q.end_date) parts.push(`${dateTime(q.start_date)} – ${dateTime(q.end_date)}`);
  return parts.filter(Boolean).join(' · ');
}

function row(q) {
  return { id: q.id, name: q.name || '', draft: q.name || '', what: describe(q), when: dateTime(q.created_at), note: '' };
}

export function savedViews() {
  return {
    saved: [],
    recent: [],
    error: '',

    init() {
      this.load();
    },

    async load() {
      try {
        const [saved, history] = await Promise.all([all('/api/v1/queries?saved=true'), all('/api/v1/queries?saved=false')]);
        this.saved = saved.map(row);
        this.recent = history.slice(-RECENT).reverse().map(row);
        this.error = '';
      } catch (e) {
        this.error = t('js.views.load_failed', { message: errorText(e) });
      }
    },

    async name(r, name) {
      try {
        await api(`/api/v1/queries/${r.id}`, { method: 'PUT', body: { name } });
        await this.load();
      } catch (e) {
        r.note = errorText(e);
      }
    },

    save(r) {
      if (r.draft.trim() === '') {
        r.note = t('js.views.name_required');
        return;
      }
      this.name(r, r.draft);
    },

    forget(r) {
      this.name(r, '');
    },
  };
}
