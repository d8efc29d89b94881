// nodeHealth is the Alpine component of the node-health page: every vision node of the
// tenant (GET /api/v1/nodes), its latest figures, a small chart of its stored telemetry
// (GET /api/v1/nodes/{node}/telemetry, last 24 h), its cameras with the areas they watch and
// their recent control events. Refreshed every 10 s.
import { CategoryScale, Chart, Legend, LineController, LineElement, LinearScale, PointElement, Tooltip } from 'chart.js';
import { api, errorText, items } from './api.js';
import { dateTime, decimal, duration, integer, t, time } from './i18n.js';

Chart.register(LineController, LineElement, PointElement, CategoryScale, LinearScale, Tooltip, Legend);

const REFRESH_MS = 10000;

function fixed(x, digits) {
  return typeof x === 'number' && Number.isFinite(x) ? decimal(x, digits) : '—';
}

export function nodeHealth() {
  let timer = null;
  const charts = new Map();
  return {
    nodes: [],
    loading: true,
    error: '',
    updated: 0,

    async init() {
      await this.load();
      timer = setInterval(() => this.load(), REFRESH_MS);
    },

    destroy() {
      clearInterval(timer);
      for (const c of charts.values()) c.destroy();
      charts.clear();
    },

    updatedText() {
      return this.updated ? t('js.nodes.updated', { time: time(this.updated) }) : '';
    },

    async load() {
      let list;
      let cams = [];
      let links = [];
      let areas = [];
      let events = [];
      try {
        list = items(await api('/api/v1/nodes'), 'items');
        [cams, links, areas, events] = await Promise.all(
          ['/api/v1/cameras?limit=500', '/api/v1/camera-areas?limit=500', '/api/v1/areas?limit=500', '/api/v1/camera-events?limit=200'].map((p) =>
            api(p).then((d) => items(d, 'items')).catch(() => []),
          ),
        );
      } catch (e) {
        this.error = t('js.nodes.load_failed', { message: errorText(e) });
        this.loading = false;
        return;
      }
      this.error = '';
      const areaName = new Map(areas.map((a) => [a.id, a.name]));
      const now = Date.now();
      this.nodes = list.map((n) => {
        const mine = cams.filter((c) => c.node === n.node);
        const reported = new Map((n.cameras || []).map((c) => [c.id, c]));
        const ids = new Set([...mine.map((c) => c.name), ...reported.keys()]);
        const cameras = [...ids].map((id) => {
          const cam = mine.find((c) => c.name === id);
          const r = reported.get(id);
          const watched = cam ? links.filter((l) => l.camera_id === cam.id).map((l) => areaName.get(l.area_id) || `#${l.area_id}`) : [];
          return {
            key: id,
            id,
            ok: !!r && r.status === 'ok',
            status: r ? t(`js.nodes.camera.${r.status}`) : t('js.nodes.camera.unreported'),
            fps: r ? t('js.nodes.fps', { fps: fixed(r.fps, 1) }) : '',
            areas: watched.length ? t('js.nodes.watches', { areas: watched.join(', ') }) : '',
          };
        });
        const camIDs = new Set(mine.map((c) => c.id));
        const evs = events
          .filter((e) => camIDs.has(e.camera_id))
          .slice(0, 5)
          .map((e) => ({ key: `${e.id}`, text: t('js.nodes.event', { time: dateTime(e.occurred_at), action: e.action, reason: e.reason || '' }) }));
        const seen = n.last_seen && !n.last_seen.startsWith('0001') ? new Date(n.last_seen).getTime() : 0;
        return {
          node: n.node,
          online: n.state === 'online',
          stateLabel: t(n.state === 'online' ? 'js.nodes.online' : 'js.nodes.offline'),
          seen: seen ? t('js.nodes.seen', { ago: duration(Math.max(0, now - seen)) }) : t('js.nodes.never'),
          cpu: `${fixed(n.cpu_pct, 0)} %`,
          ram: `${fixed(n.ram_pct, 0)} %`,
          gpuTemp: `${fixed(n.gpu_temp_c, 0)} °C`,
          gpuMem: `${integer(Math.round((n.gpu_mem_used_bytes || 0) / 2 ** 20))} MiB`,
          cameras,
          events: evs,
        };
      });
      this.loading = false;
      this.updated = now;
      this.$nextTick(() => this.drawCharts());
    },

    async drawCharts() {
      const to = new Date();
      const from = new Date(to.getTime() - 24 * 3600 * 1000);
      for (const n of this.nodes) {
        const canvas = this.$el.querySelector(`canvas.lp-node-chart[data-node="${n.node}"]`);
        if (!canvas) continue;
        let rows = [];
        try {
          rows = items(await api(`/api/v1/nodes/${encodeURIComponent(n.node)}/telemetry?from=${from.toISOString()}&to=${to.toISOString()}`), 'items');
        } catch {
          rows = [];
        }
        const data = {
          labels: rows.map((r) => time(r.recorded_at)),
          datasets: [
            { label: t('js.nodes.chart.cpu'), data: rows.map((r) => r.cpu_usage), borderColor: '#38bdf8', pointRadius: 0 },
            { label: t('js.nodes.chart.ram'), data: rows.map((r) => r.ram_usage), borderColor: '#a78bfa', pointRadius: 0 },
            { label: t('js.nodes.chart.gpu_temp'), data: rows.map((r) => r.gpu_temp), borderColor: '#fb923c', pointRadius: 0 },
          ],
        };
        const old = charts.get(n.node);
        if (old && old.canvas === canvas) {
          old.data = data;
          old.update('none');
          continue;
        }
        if (old) old.destroy();
        charts.set(
          n.node,
          new Chart(canvas, {
            type: 'line',
            data,
            options: { animation: false, maintainAspectRatio: false, plugins: { legend: { labels: { color: '#cbd5e1', boxWidth: 10 } } }, scales: { x: { ticks: { color: '#94a3b8', maxTicksLimit: 6 } }, y: { ticks: { color: '#94a3b8' } } } },
          }),
        );
      }
    },
  };
}
