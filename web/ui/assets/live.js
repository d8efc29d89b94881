// LiveClient keeps one WebSocket to /ws for a page: it subscribes to lines, remembers the
// last sequence number seen per line, and after a dropped connection reconnects with
// {"op":"resume","line":L,"seq":S} so the hub replays what was missed (or sends a fresh
// snapshot). KPI updates are state: the hub may coalesce them for a slow client, so a
// jump in seq is normal and only older-or-equal updates are ignored. Downtime events are
// never dropped by the hub and are applied once each.

const MAX_BACKOFF_MS = 15000;
const MAX_MESSAGE_BYTES = 1 << 20;
// CLOSE_REVOKED: the hub closed the socket because the session ended or the kiosk token was
// revoked; the same credentials would be refused.
export const CLOSE_REVOKED = 4001;

export class LiveClient {
  // opts: {lines: number[], kiosk?: string, onMessage(msg), onStatus(status, detail),
  //        onAuthProblem?(): Promise<boolean> (true = try again now)}
  constructor(opts) {
    this.lines = [...new Set(opts.lines)].filter((n) => Number.isInteger(n) && n > 0);
    this.kiosk = opts.kiosk || '';
    this.onMessage = opts.onMessage;
    this.onStatus = opts.onStatus || (() => {});
    this.onAuthProblem = opts.onAuthProblem || null;
    this.seq = new Map(); // line -> last seq applied
    this.seenDowntime = new Set(); // "line:seq" of downtime events applied
    this.ws = null;
    this.stopped = false;
    this.attempt = 0;
    this.everOpened = false;
    this.timer = null;
  }

  url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let u = `${proto}//${location.host}/ws`;
    if (this.kiosk) u += `?kiosk=${encodeURIComponent(this.kiosk)}`;
    return u;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close(1000, 'page closed');
      this.ws = null;
    }
  }

  connect() {
    if (this.stopped) return;
    this.onStatus(this.attempt === 0 ? 'connecting' : 'reconnecting');
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch (err) {
      this.onStatus('offline', String(err));
      this.retry();
      return;
    }
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.everOpened = true;
      this.attempt = 0;
      this.onStatus('live');
      this.sendSubscriptions();
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data !== 'string' || ev.data.length > MAX_MESSAGE_BYTES) return;
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (msg && typeof msg === 'object') this.handle(msg);
    };
    ws.onclose = async (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      if (ev.code === CLOSE_REVOKED) {
        // Reconnecting with these credentials is refused: a signed-in page may refresh its
        // session (or is sent to the login page); a kiosk screen stays revoked.
        if (this.onAuthProblem && (await this.onAuthProblem().catch(() => false))) {
          this.attempt = 0;
          this.retry();
          return;
        }
        this.stopped = true;
        this.onStatus('revoked', ev.reason || '');
        return;
      }
      this.onStatus('reconnecting', ev.reason || '');
      // A refused upgrade never opens: maybe the session expired. Let the page check.
      if (!opened && this.onAuthProblem && this.attempt >= 1) {
        try {
          if (await this.onAuthProblem()) this.attempt = 0;
        } catch {
          /* the page reports it */
        }
      }
      this.retry();
    };
  }

  retry() {
    if (this.stopped) return;
    this.attempt++;
    const base = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(this.attempt, 5));
    const delay = base / 2 + Math.random() * (base / 2);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  send(obj) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(obj));
  }

  sendSubscriptions() {
    const fresh = [];
    for (const line of this.lines) {
      const s = this.seq.get(line);
      if (s === undefined) fresh.push(line);
      else this.send({ op: 'resume', line, seq: s });
    }
    if (fresh.length) this.send({ op: 'subscribe', lines: fresh });
  }

  handle(msg) {
    const line = Number(msg.line);
    const seq = typeof msg.seq === 'number' ? msg.seq : null;
    const last = this.seq.get(line);
    switch (msg.type) {
      case 'snapshot':
        if (seq !== null) this.seq.set(line, seq);
        break;
      case 'kpi':
        if (seq !== null) {
          if (last !== undefined && seq <= last) return; // replayed or stale
          this.seq.set(line, seq);
        }
        break;
      case 'downtime':
        if (seq !== null) {
          const key = `${line}:${seq}`;
          if (this.seenDowntime.has(key)) return;
          this.seenDowntime.add(key);
          if (this.seenDowntime.size > 500) {
            this.seenDowntime.delete(this.seenDowntime.values().next().value);
          }
          if (last === undefined || seq > last) this.seq.set(line, seq);
        }
        break;
      case 'error':
        break;
      default:
        return; // unknown message types are ignored: the protocol may grow
    }
    this.onMessage(msg);
  }
}
