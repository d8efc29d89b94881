// login is the Alpine component of /login: it posts the credentials to the API, which sets
// the HttpOnly session cookies, and then goes to the page the user came for.
import { ApiError, api, errorText } from './api.js';
import { t } from './i18n.js';

export function login() {
  return {
    tenant: '',
    email: '',
    password: '',
    busy: false,
    error: '',

    init() {
      try {
        this.tenant = localStorage.getItem('lp.tenant') || '';
      } catch {
        /* storage may be disabled */
      }
    },

    async submit() {
      if (this.busy) return;
      this.error = '';
      // No plant: a platform administrator.
      if (!this.email || !this.password) {
        this.error = t('js.login.missing');
        return;
      }
      this.busy = true;
      try {
        await api('/api/v1/auth/login', {
          method: 'POST',
          noRedirect: true,
          body: { tenant: this.tenant.trim(), email: this.email.trim(), password: this.password },
        });
        try {
          localStorage.setItem('lp.tenant', this.tenant.trim());
        } catch {
          /* ignore */
        }
        this.password = '';
        location.assign(this.$el.dataset.next || '/');
      } catch (e) {
        this.password = '';
        if (e instanceof ApiError && (e.status === 401 || e.status === 400)) {
          this.error = t('js.login.wrong');
        } else if (e instanceof ApiError && e.status === 429) {
          this.error = t('js.login.throttled');
        } else {
          this.error = t('js.login.failed', { message: errorText(e) });
        }
      } finally {
        this.busy = false;
      }
    },
  };
}
