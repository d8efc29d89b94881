// The production bar chart (good and rejected per bucket) of the line page and the
// production_chart widget.
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import { dateTime, t } from './i18n.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);

// The API labels buckets in the plant's time zone ("2006-01-02 15:04 MST", a date, or
// "date shift"); the axis shows the short part, the tooltip all of it.
export function fullLabel(b) {
  return (b && (b.label || dateTime(b.start))) || '';
}

export function shortLabel(b, interval) {
  const label = fullLabel(b);
  if (interval === 'hour' || interval === 'minute') {
    const m = /\b(\d{1,2}:\d{2})\b/.exec(label);
    if (m) return m[1];
  }
  if (interval === 'day') {
    const m = /^\d{4}-(\d{2}-\d{2})$/.exec(label);
    if (m) return m[1];
  }
  return label;
}

// drawProduction draws buckets into canvas, or updates chart (the one it returned before).
export function drawProduction(chart, canvas, buckets, interval) {
  const labels = buckets.map((b) => shortLabel(b, interval));
  const good = buckets.map((b) => Number(b.good) || 0);
  const reject = buckets.map((b) => Number(b.reject) || 0);
  if (chart) {
    chart.data.labels = labels;
    chart.data.datasets[0].data = good;
    chart.data.datasets[1].data = reject;
    chart.options.plugins.tooltip.callbacks.title = (points) => (points.length ? fullLabel(buckets[points[0].dataIndex]) : '');
    chart.update();
    return chart;
  }
  return new Chart(canvas, {
    type: 'bar',
    data: {
      labels,
      datasets: [
        { label: t('js.kpi.good'), data: good, backgroundColor: '#34d399', stack: 'count' },
        { label: t('js.kpi.reject'), data: reject, backgroundColor: '#f87171', stack: 'count' },
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      scales: {
        x: { stacked: true, ticks: { color: '#94a3b8', maxRotation: 0, autoSkip: true }, grid: { color: '#1e293b' } },
        y: { stacked: true, beginAtZero: true, ticks: { color: '#94a3b8' }, grid: { color: '#1e293b' } },
      },
      plugins: {
        legend: { labels: { color: '#e2e8f0' } },
        tooltip: { callbacks: { title: (points) => (points.length ? fullLabel(buckets[points[0].dataIndex]) : '') } },
      },
    },
  });
}
