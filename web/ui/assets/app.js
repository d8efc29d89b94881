// Entry point of the browser bundle (built by build.mjs into static/dist/app.js).
// Everything runs under a CSP without 'unsafe-inline' / 'unsafe-eval': htmx's eval and
// injected indicator styles are switched off, and Alpine is its CSP build, so templates
// may only name data and methods of the components registered below.
import htmx from 'htmx.org';
import Alpine from '@alpinejs/csp';
import { ackLink, notificationCentre } from './alerts.js';
import { loginURL, refreshSession } from './api.js';
import { board, floorPlan, widget } from './board.js';
import { boardEditor, boardList } from './boardedit.js';
import { filterPanel } from './filters.js';
import { lineDetail } from './line.js';
import { login } from './login.js';
import { plantPareto } from './losses.js';
import { savedViews } from './queries.js';
import { nav } from './nav.js';
import { nodeHealth } from './nodes.js';
import { setupScreen } from './setup.js';
import { auditVerify, shiftCalendar } from './shiftcal.js';
import { liveTiles } from './tiles.js';

Object.assign(htmx.config, {
  allowEval: false,
  allowScriptTags: false,
  includeIndicatorStyles: false,
  // Boosted navigation swaps the body; going back reloads the page instead of restoring
  // a DOM snapshot that Alpine no longer owns.
  historyCacheSize: 0,
  refreshOnHistoryMiss: true,
  selfRequestsOnly: true,
  // Settling copies old attributes onto new elements with the same id; a copied style
  // attribute is an inline style, which the CSP refuses.
  attributesToSettle: ['class', 'width', 'height'],
});

// x-boost hands an element Alpine created (a tile link in an x-for) to htmx, which only
// scans the page when it loads or swaps: inside an hx-boost="true" container the link
// then navigates by swapping the body instead of reloading everything.
Alpine.directive('boost', (el) => {
  queueMicrotask(() => htmx.process(el));
});

Alpine.data('login', login);
Alpine.data('nav', nav);
Alpine.data('liveTiles', liveTiles);
Alpine.data('board', board);
Alpine.data('widget', widget);
Alpine.data('floorPlan', floorPlan);
Alpine.data('boardList', boardList);
Alpine.data('boardEditor', boardEditor);
Alpine.data('filterPanel', filterPanel);
Alpine.data('lineDetail', lineDetail);
Alpine.data('plantPareto', plantPareto);
Alpine.data('savedViews', savedViews);
Alpine.data('setupScreen', setupScreen);
Alpine.data('nodeHealth', nodeHealth);
Alpine.data('shiftCalendar', shiftCalendar);
Alpine.data('auditVerify', auditVerify);
Alpine.data('notificationCentre', notificationCentre);
Alpine.data('ackLink', ackLink);

window.htmx = htmx;
window.Alpine = Alpine;

// The server renders each page for its viewer (language, navigation). A page of signed-in
// users rendered without a valid session (data-auth="none": the short-lived access cookie
// expired) refreshes the session and reloads, once; with no session left, it signs in.
const PUBLIC_PAGES = ['login', 'tv', 'error', 'ack'];
const body = document.body;
if (body.dataset.auth === 'none' && !PUBLIC_PAGES.includes(body.dataset.page)) {
  let recent = false;
  try {
    recent = Date.now() - Number(sessionStorage.getItem('lp.reloaded') || 0) < 10000;
    sessionStorage.setItem('lp.reloaded', String(Date.now()));
  } catch {
    /* storage may be disabled */
  }
  refreshSession().then((ok) => (ok && !recent ? location.reload() : location.assign(loginURL())));
} else {
  Alpine.start();
}
