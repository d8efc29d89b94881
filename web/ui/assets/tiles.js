// liveTiles is the Alpine component of the dashboard (data-mode="dashboard") and the TV
// view (data-mode="tv", data-kiosk, data-lines): one tile per line, live over /ws.
import { api, checkSession, errorText, items } from './api.js';
import { filters } from './filters.js';
import { LiveClient } from './live.js';
import { t, time } from './i18n.js';
import { STATES, applyDowntime, applyKPI, clockTime, duration, isStale, newTile, oeeClass } from './tile.js';

const STATUS = {
  connecting: { label: 'js.status.connecting', cls: 'bg-slate-600' },
  live: { label: 'js.status.live', cls: 'bg-emerald-500' },
  reconnecting: { label: 'js.status.reconnecting', cls: 'bg-amber-400 animate-pulse' },
  offline: { label: 'js.status.offline', cls: 'bg-red-500' },
  revoked: { label: 'js.status.revoked', cls: 'bg-red-500' },
};

// handleLive applies one hub message to a component holding tiles and alerts; shared with
// the line page.
export function handleLive(c, m) {
  if (m.type === 'error') {
    c.liveError = m.message || m.code || t('js.live.refused');
    return;
  }
  const t = c.tiles.find((x) => x.id === Number(m.line));
  if (!t) return;
  if (m.type === 'snapshot' || m.type === 'kpi') {
    applyKPI(t, m);
    if (t.state !== 'down') c.alerts = c.alerts.filter((a) => a.line !== t.id);
    else if (!c.alerts.some((a) => a.line === t.id)) restoreStop(c, t, m);
  } else if (m.type === 'downtime') {
    const ev = m.event || {};
    applyDowntime(t, ev);
    if (ev.state === 'started') {
      c.alerts = c.alerts.filter((a) => a.line !== t.id);
      c.alerts.push({ key: `${t.id}:${m.seq}`, line: t.id, name: t.name, href: t.href, since: ev.start || new Date().toISOString() });
      if (c.mode === 'tv') chime();
    } else {
      // "ended", or "cancelled" (late detections proved the stop false)
      c.alerts = c.alerts.filter((a) => a.line !== t.id);
    }
  }
}

// restoreStop shows the banner of a line that is already down when the page opens (a
// reload mid-stop): from the snapshot's open_downtime when the engine sends it, else from
// the line's open downtime event (the engine books it when the stop starts).
async function restoreStop(c, t, m) {
  const show = (start) => {
    if (t.state === 'down' && !c.alerts.some((a) => a.line === t.id)) {
      c.alerts.push({ key: `${t.id}:open`, line: t.id, name: t.name, href: t.href, since: start });
    }
  };
  if (m.open_downtime && m.open_downtime.start) {
    show(m.open_downtime.start);
    return;
  }
  if (t.restoring) return;
  t.restoring = true;
  try {
    const to = new Date();
    const from = new Date(to.getTime() - 24 * 3600 * 1000);
    const q = `from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}&limit=500`;
    const headers = c.kiosk ? { Authorization: `Kiosk ${c.kiosk}` } : {};
    const open = items(await api(`/api/v1/lines/${t.id}/downtime?${q}`, { noRedirect: true, headers })).find((e) => !e.end);
    if (open) show(open.start);
  } catch {
    /* the next started event shows it */
  } finally {
    t.restoring = false;
  }
}

// chime sounds on the TV when a line stops: after someone touched the screen once, or
// always with &sound=1 in the TV URL (its browser must then allow autoplay, e.g. Chromium's
// --autoplay-policy=no-user-gesture-required); browsers refuse audio otherwise.
function chime() {
  const touched = navigator.userActivation && navigator.userActivation.hasBeenActive;
  if (!touched && new URLSearchParams(location.search).get('sound') !== '1') return;
  try {
    const ac = new (window.AudioContext || window.webkitAudioContext)();
    const o = ac.createOscillator();
    const g = ac.createGain();
    o.frequency.value = 880;
    g.gain.setValueAtTime(0.2, ac.currentTime);
    g.gain.exponentialRampToValueAtTime(0.001, ac.currentTime + 0.8);
    o.connect(g).connect(ac.destination);
    o.start();
    o.stop(ac.currentTime + 0.8);
  } catch {
    /* no audio on this screen */
  }
}

// tileHelpers are the template-facing methods of any component with tiles.
export const tileHelpers = {
  tileClass(t) {
    return (STATES[t.state] || STATES.unknown).ring + (isStale(t, this.now) ? ' lp-stale opacity-50 grayscale' : '');
  },
  tvClass(t) {
    return (STATES[t.state] || STATES.unknown).tv + (isStale(t, this.now) ? ' lp-stale opacity-50 grayscale' : '');
  },
  // staleText says how old a stale tile's data is ('' while it is live): a figure that is
  // not live is labelled with its age, never shown as live.
  staleText(tile) {
    return isStale(tile, this.now) ? t('js.tile.stale', { ago: duration(this.now - tile.receivedAt) }) : '';
  },
  badgeClass(t) {
    return (STATES[t.state] || STATES.unknown).badge;
  },
  oeeClass(t) {
    return oeeClass(t);
  },
  // mixOf is a tile's product mix, only the product the filter panel chose (if any).
  mixOf(t) {
    return filters.product ? t.mix.filter((s) => s.key === filters.product) : t.mix;
  },
  downFor(tile) {
    if (!tile.downSince) return '';
    const since = new Date(tile.downSince).getTime();
    return t('js.tile.down_for', { time: clockTime(tile.downSince), duration: duration(Math.max(0, this.now - since)) });
  },
  alertText(a) {
    const since = new Date(a.since).getTime();
    return t('js.alert.text', { time: clockTime(a.since), duration: duration(Math.max(0, this.now - since)) });
  },
  alertTitle(a) {
    return t('js.alert.is_down', { name: a.name });
  },
  dismiss(a) {
    this.alerts = this.alerts.filter((x) => x.key !== a.key);
  },
  statusLabel() {
    return t((STATUS[this.status] || STATUS.connecting).label);
  },
  statusClass() {
    return (STATUS[this.status] || STATUS.connecting).cls;
  },
  clock() {
    return time(this.now);
  },
};

export function liveTiles() {
  let live = null;
  let ticker = null;
  return {
    ...tileHelpers,
    mode: 'dashboard',
    kiosk: '',
    tiles: [],
    alerts: [],
    status: 'connecting',
    error: '',
    liveError: '',
    loading: true,
    now: Date.now(),

    async init() {
      const ds = this.$el.dataset;
      this.mode = ds.mode === 'tv' ? 'tv' : 'dashboard';
      const kiosk = ds.kiosk || '';
      this.kiosk = kiosk;
      const wanted = (ds.lines || '')
        .split(',')
        .map(Number)
        .filter((n) => Number.isInteger(n) && n > 0);
      ticker = setInterval(() => {
        this.now = Date.now();
      }, 1000);

      let lines = [];
      if (this.mode === 'tv') {
        if (!kiosk) {
          this.error = t('js.tv.no_token');
        }
        // Line names, if the API accepts the kiosk token for reading; else "Line N".
        try {
          lines = items(await api('/api/v1/lines?limit=500', { noRedirect: true, headers: kiosk ? { Authorization: `Kiosk ${kiosk}` } : {} }), 'lines');
        } catch {
          lines = [];
        }
        if (wanted.length) {
          const byId = new Map(lines.map((l) => [Number(l.id), l]));
          lines = wanted.map((id) => byId.get(id) || { id });
        }
      } else {
        try {
          lines = items(await api('/api/v1/lines?limit=500'), 'lines');
        } catch (e) {
          this.error = t('js.lines.load_failed', { message: errorText(e) });
          this.loading = false;
          return;
        }
      }
      lines = lines.filter((l) => l && Number(l.id) > 0 && l.active !== false);
      this.tiles = lines.map(newTile);
      this.loading = false;
      if (!this.tiles.length) return;

      live = new LiveClient({
        lines: this.tiles.map((t) => t.id),
        kiosk,
        onMessage: (m) => handleLive(this, m),
        onStatus: (s) => {
          this.status = s;
        },
        onAuthProblem: this.mode === 'tv' ? null : checkSession,
      });
      live.start();
    },

    destroy() {
      if (live) live.stop();
      clearInterval(ticker);
    },

    gridClass() {
      const n = this.tiles.length;
      if (n <= 1) return 'grid-cols-1 grid-rows-1';
      if (n === 2) return 'grid-cols-2 grid-rows-1';
      if (n === 3) return 'grid-cols-3 grid-rows-1';
      if (n === 4) return 'grid-cols-2 grid-rows-2';
      if (n <= 6) return 'grid-cols-3 grid-rows-2';
      if (n <= 9) return 'grid-cols-3 grid-rows-3';
      return 'grid-cols-4 grid-rows-3';
    },
  };
}
