/**
 * The viewer's entry point: builds the app from index.html's markup, connects the typed client
 * (which reconnects by itself), and runs the paint loop. `?ws=URL` points it at another server
 * (WHIP answers cross-origin requests; `/api/streams` sends no CORS headers today, so from another
 * origin the list comes from the socket's messages alone — which is enough).
 * With auth on, the page takes its token from the URL fragment (`#token=T`: a fragment never
 * reaches a server or its logs) and sends it with the socket (`?token=`), REST and WHIP (Bearer).
 */
import { AvlocClient } from '../../src/wire/client.ts';
import { bindControls } from './controls.ts';
import { bindPublishCamera } from './publish-camera.ts';
import { DEFAULT_SETTINGS } from './overlay-settings.ts';
import type { OverlaySettings } from './overlay-settings.ts';
import { ViewerApp } from './viewer-app.ts';
import { whipPublish } from './whip-client.ts';

function need(id: string): HTMLElement {
  const e = document.getElementById(id);
  if (!e) throw new Error(`viewer markup is missing #${id}`);
  return e;
}

/** The service this page talks to: its own origin, or the one `?ws=` names (REST and WHIP follow it). */
function endpoints(): { ws: string; http: string } {
  const override = new URLSearchParams(location.search).get('ws');
  if (override) {
    const u = new URL(override);
    return { ws: u.href, http: `${u.protocol === 'wss:' ? 'https:' : 'http:'}//${u.host}` };
  }
  return { ws: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`, http: location.origin };
}

/** `#token=T` in the page's URL, if any. */
function fragmentToken(): string | undefined {
  return new URLSearchParams(location.hash.replace(/^#/, '')).get('token') ?? undefined;
}

const service = endpoints();
const token = fragmentToken();
const wsUrl = new URL(service.ws);
if (token) wsUrl.searchParams.set('token', token);
const settings: OverlaySettings = { ...DEFAULT_SETTINGS };
const app = new ViewerApp({ tiles: need('tiles'), list: need('stream-list'), connection: need('connection') }, settings);
bindControls(document, settings, () => app.invalidateAll());
bindPublishCamera(document, { publish: (url, media) => whipPublish(url, media, token ? { token } : {}), onPublished: (id) => app.focus(id), baseUrl: service.http });

// One loop for all tiles; the browser pauses it in background tabs, and each tile holds only its
// newest frame meanwhile, so coming back shows the present rather than replaying the past.
const paint = (): void => {
  app.draw();
  requestAnimationFrame(paint);
};
requestAnimationFrame(paint);

void app.refreshFromRest(service.http, token);
setInterval(() => void app.refreshFromRest(service.http, token), 5000);

AvlocClient.connect(wsUrl.href).then(
  (client) => app.attach(client),
  (err: unknown) => console.error('avloc: could not connect', err),
);
