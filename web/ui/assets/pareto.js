// Pareto charts of stops: bars of minutes per group, longest first, and the cumulative
// share as a line on a 0-100 % axis (GET /api/v1/downtime/pareto).
import { BarController, BarElement, CategoryScale, Chart, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';
import { t } from './i18n.js';
import { pct } from './tile.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement, Tooltip);

// paretoLabel names a group; the uncoded group has no key.
export function paretoLabel(g) {
  if (!g.key) return t('js.losses.uncoded');
  return g.label && g.label !== g.key ? `${g.key} ${g.label}` : g.key;
}

// uncodedNote is the share of the stop time still to be coded; nothing when no stop took time.
export function uncodedNote(p) {
  return p && Number(p.total_s) > 0 ? t('js.losses.uncoded_share', { share: pct(p.uncoded_share) }) : '';
}

// drawPareto draws (or redraws, when chart is given) the Pareto p on canvas and returns
// the chart.
export function drawPareto(canvas, p, chart) {
  const groups = (p && Array.isArray(p.groups) ? p.groups : []).slice(0, 15);
  const labels = groups.map(paretoLabel);
  const minutes = groups.map((g) => Math.round((Number(g.duration_s) || 0) / 6) / 10);
  const cumulative = groups.map((g) => Math.round((Number(g.cumulative) || 0) * 1000) / 10);
  if (chart) {
    chart.data.labels = labels;
    chart.data.datasets[0].data = minutes;
    chart.data.datasets[1].data = cumulative;
    chart.update();
    return chart;
  }
  return new Chart(canvas, {
    data: {
      labels,
      datasets: [
        { type: 'bar', label: t('js.losses.minutes'), data: minutes, backgroundColor: '#f87171', yAxisID: 'y' },
        { type: 'line', label: t('js.losses.cumulative'), data: cumulative, borderColor: '#38bdf8', backgroundColor: '#38bdf8', yAxisID: 'cum' },
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      scales: {
        x: { ticks: { color: '#94a3b8', maxRotation: 30, autoSkip: false }, grid: { color: '#1e293b' } },
        y: { beginAtZero: true, ticks: { color: '#94a3b8' }, grid: { color: '#1e293b' } },
        cum: { position: 'right', min: 0, max: 100, ticks: { color: '#94a3b8', callback: (v) => `${v}%` }, grid: { display: false } },
      },
      plugins: { legend: { display: false } },
    },
  });
}
