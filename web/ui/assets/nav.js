// nav is the Alpine component of the page header: sign-out.
import { api } from './api.js';

export function nav() {
  return {
    busy: false,
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
