// Small JSON client for /api/v1 with the browser's session cookies. A 401 first tries the
// refresh cookie once, then sends the user to the login page (except on kiosk screens).
import { t } from './i18n.js';

export class ApiError extends Error {
  constructor(status, code, message, fields) {
    super(message || t('js.api.failed', { status }));
    this.status = status;
    this.code = code || '';
    this.fields = fields || [];
  }
}

let refreshing = null;

// refreshSession asks the API for a new access cookie; true when it worked.
export function refreshSession() {
  if (!refreshing) {
    refreshing = fetch('/api/v1/auth/refresh', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { Accept: 'application/json' },
    })
      .then((r) => r.ok)
      .catch(() => false)
      .finally(() => {
        setTimeout(() => {
          refreshing = null;
        }, 1000);
      });
  }
  return refreshing;
}

// checkSession is a signed-in page's answer to refused or revoked live updates: true when
// the session was refreshed (reconnect now); else a probe of the API sends the browser to
// the login page if the session is gone.
export async function checkSession() {
  if (await refreshSession()) return true;
  await api('/api/v1/lines?limit=1'); // redirects to the login page on 401
  return false;
}

export function loginURL() {
  const here = location.pathname + location.search;
  return here === '/' ? '/login' : `/login?next=${encodeURIComponent(here)}`;
}

// api fetches path and decodes JSON. opts: {method, body, noRedirect, headers}.
export async function api(path, opts = {}) {
  const init = {
    method: opts.method || 'GET',
    credentials: 'same-origin',
    headers: { Accept: 'application/json', ...(opts.headers || {}) },
  };
  if (opts.body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  }
  let res = await fetch(path, init);
  if (res.status === 401 && !opts.noRedirect) {
    if (await refreshSession()) res = await fetch(path, init);
    if (res.status === 401) {
      location.assign(loginURL());
      throw new ApiError(401, 'unauthenticated', t('js.api.signed_out'));
    }
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const e = (data && data.error) || {};
    throw new ApiError(res.status, e.code, e.message || `${res.status} ${res.statusText}`, e.fields);
  }
  return data;
}

// errorText is what a person reads about a failed request, in the page's language: the
// API's messages are English for developers and scripts, so known error codes get their
// translation (a conflict keeps the API's explanation; field errors are shown next to
// their fields by the forms).
export function errorText(e) {
  if (!(e instanceof ApiError)) return e && e.message ? e.message : String(e);
  if (e.code && e.code !== 'unauthenticated') {
    const s = t(`js.err.${e.code}`, { message: e.message });
    if (!s.startsWith('⟦')) return s;
  }
  return e.message;
}

// items accepts the list shapes an API may use: [..], {items:[..]}, {data:[..]}, {<key>:[..]}.
export function items(data, key) {
  if (Array.isArray(data)) return data;
  if (!data || typeof data !== 'object') return [];
  for (const k of [key, 'items', 'data', 'results']) {
    if (k && Array.isArray(data[k])) return data[k];
  }
  return [];
}
