// The notification centre (/alerts), the acknowledge page of e-mail links (/alerts/ack)
// and the bell of the navigation: the unacknowledged count, and a Web Notification when it
// grows while the page is open.
import { api, errorText, items } from './api.js';
import { dateTime, t } from './i18n.js';

const STATES = ['firing', 'acknowledged', 'resolved'];

export function notificationCentre() {
  return {
    state: 'firing',
    rows: [],
    rules: new Map(),
    lines: new Map(),
    channels: new Map(),
    deliveries: [],
    open: 0,
    loaded: false,
    error: '',
    canNotify: 'Notification' in window && Notification.permission === 'default',
    async init() {
      const want = new URLSearchParams(location.search).get('state');
      if (STATES.includes(want)) this.state = want;
      const [rules, lines, channels] = await Promise.all(
        ['/api/v1/alert-rules', '/api/v1/lines', '/api/v1/notification-channels'].map((p) => api(p).catch(() => ({ items: [] }))),
      );
      for (const r of items(rules)) this.rules.set(r.id, r.name);
      for (const l of items(lines)) this.lines.set(l.id, l.name);
      for (const c of items(channels)) this.channels.set(c.id, c.name);
      await this.load();
    },
    async load() {
      try {
        this.rows = items(await api(`/api/v1/alerts?state=${this.state}&limit=500`)).reverse();
        this.error = '';
      } catch (e) {
        this.error = errorText(e);
      }
      this.loaded = true;
    },
    show(state) {
      this.state = state;
      this.open = 0;
      this.load();
    },
    stateClass(state) {
      return state === this.state ? 'bg-sky-600 text-white' : 'bg-slate-800 text-slate-300 hover:bg-slate-700';
    },
    firedAt(a) {
      return dateTime(a.fired_at);
    },
    ruleName(a) {
      return this.rules.get(a.rule_id) || t(`js.alerts.kind.${a.kind}`);
    },
    lineName(a) {
      return this.lines.get(a.line_id) || (a.line_id ? t('js.alerts.line', { id: a.line_id }) : '');
    },
    severity(a) {
      return t(`js.alerts.severity.${a.severity}`);
    },
    stateText(a) {
      return t(`js.alerts.state.${a.state}`);
    },
    ackText(a) {
      if (!a.acked_at) return '';
      const when = dateTime(a.acked_at);
      return a.ack_comment ? `${when} · ${a.ack_comment}` : when;
    },
    canAck(a) {
      return a.state === 'firing';
    },
    async ack(a) {
      const input = this.$root.querySelector(`.lp-ack-comment[data-alert="${a.id}"]`);
      try {
        await api(`/api/v1/alerts/${a.id}/ack`, { method: 'POST', body: { comment: input ? input.value : '' } });
        window.dispatchEvent(new CustomEvent('lp-alerts-changed'));
        await this.load();
      } catch (e) {
        this.error = errorText(e);
      }
    },
    async toggleDeliveries(a) {
      if (this.open === a.id) {
        this.open = 0;
        return;
      }
      try {
        this.deliveries = items(await api(`/api/v1/alerts/${a.id}/deliveries`));
        this.open = a.id;
      } catch (e) {
        this.error = errorText(e);
      }
    },
    deliveryText(d) {
      const result = d.ok ? t('js.alerts.delivered') : t('js.alerts.failed', { error: d.error });
      return `${dateTime(d.at)} · ${this.channels.get(d.channel_id) || d.channel_id} · ${t(`js.alerts.event.${d.event}`)} · #${d.attempt} · ${result}`;
    },
    enableNotifications() {
      Notification.requestPermission().then(() => {
        this.canNotify = Notification.permission === 'default';
      });
    },
  };
}

export function ackLink() {
  return {
    comment: '',
    busy: false,
    done: false,
    failed: false,
    message: '',
    async submit() {
      this.busy = true;
      const token = new URLSearchParams(location.search).get('token') || '';
      try {
        await api('/api/v1/alerts/ack-link', { method: 'POST', body: { token, comment: this.comment }, noRedirect: true });
        this.done = true;
        this.failed = false;
        this.message = t('js.ack.done');
      } catch (e) {
        this.failed = true;
        this.message = errorText(e);
      }
      this.busy = false;
    },
  };
}

// bell keeps the navigation's unacknowledged count (firing alerts) current and raises a
// Web Notification when it grows while the page is open.
export function bell(host) {
  let last = -1;
  const refresh = async () => {
    try {
      const s = await api('/api/v1/alerts/summary', { noRedirect: true });
      if (last >= 0 && s.firing > last && 'Notification' in window && Notification.permission === 'granted') {
        new Notification(t('js.alerts.notify_title'), { body: t('js.alerts.notify_body', { n: s.firing }), tag: 'linepulse-alerts' });
      }
      last = s.firing;
      host.alertCount = s.firing;
    } catch {
      /* the count waits for the next round */
    }
  };
  refresh();
  window.addEventListener('lp-alerts-changed', refresh);
  return setInterval(refresh, 15000);
}
