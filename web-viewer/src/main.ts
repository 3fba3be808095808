/**
 * The viewer's entry point: builds the app from index.html's markup, connects the typed client
 * (which reconnects by itself), and runs the paint loop. `?ws=URL` points it at another server.
 */
import { AvlocClient } from '../../src/publish/client.ts';
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

function socketUrl(): string {
  const override = new URLSearchParams(location.search).get('ws');
  if (override) return override;
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
}

const settings: OverlaySettings = { ...DEFAULT_SETTINGS };
const app = new ViewerApp({ tiles: need('tiles'), list: need('stream-list'), connection: need('connection') }, settings);
bindControls(document, settings, () => app.invalidateAll());
bindPublishCamera(document, { publish: (url, media) => whipPublish(url, media), onPublished: (id) => app.focus(id) });

// One loop for all tiles; the browser pauses it in background tabs, and each tile holds only its
// newest frame meanwhile, so coming back shows the present rather than replaying the past.
const paint = (): void => {
  app.draw();
  requestAnimationFrame(paint);
};
requestAnimationFrame(paint);

void app.refreshFromRest();
setInterval(() => void app.refreshFromRest(), 5000);

AvlocClient.connect(socketUrl()).then(
  (client) => app.attach(client),
  (err: unknown) => console.error('avloc: could not connect', err),
);
