// nav is the Alpine component of the page header: the phone menu, the language switch
// (the user's own choice, saved on the user) and sign-out.
import { bell } from './alerts.js';
import { api, errorText } from './api.js';

export function nav() {
  return {
    busy: false,
    open: false,
    alertCount: 0,
    init() {
      if (this.$root.querySelector('#nav-bell')) bell(this);
    },
    toggle() {
      this.open = !this.open;
    },
    close() {
      this.open = false;
    },
    async setLanguage(ev) {
      this.busy = true;
      try {
        await api('/api/v1/me/language', { method: 'PUT', body: { language: ev.target.value } });
        location.reload();
      } catch (e) {
        this.busy = false;
        window.alert(errorText(e));
      }
    },
    async logout() {
      this.busy = true;
      try {
        await api('/api/v1/auth/logout', { method: 'POST', noRedirect: true });
      } catch {
        /* signed out anyway: the cookies are cleared or already invalid */
      }
      location.assign('/login');
    },
  };
}
