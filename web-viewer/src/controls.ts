import { COLORMAPS } from '../../src/wire/colormap.ts';
import type { ColormapName } from '../../src/wire/colormap.ts';
import type { Normalization } from './heatmap-math.ts';
import type { OverlaySettings } from './overlay-settings.ts';

/**
 * Binds the overlay controls in index.html to a settings object. The markup lives in the HTML so
 * the page is readable without running this; here we only read and write values.
 */
export function bindControls(root: ParentNode, settings: OverlaySettings, onChange: () => void): void {
  const enabled = input(root, '#overlay-enabled');
  const peak = input(root, '#overlay-peak');
  const opacity = input(root, '#overlay-opacity');
  const opacityOut = root.querySelector<HTMLOutputElement>('#overlay-opacity-value');
  const norm = select(root, '#overlay-normalization');
  const cmap = select(root, '#overlay-colormap');

  cmap.replaceChildren(...COLORMAPS.map((name) => new Option(name, name)));
  enabled.checked = settings.enabled;
  peak.checked = settings.showPeak;
  opacity.value = String(Math.round(settings.opacity * 100));
  norm.value = settings.normalization;
  cmap.value = settings.colormap;

  const read = (): void => {
    settings.enabled = enabled.checked;
    settings.showPeak = peak.checked;
    settings.opacity = Number(opacity.value) / 100;
    settings.normalization = (['sounding', 'minmax', 'fixed'] as const).find((m) => m === norm.value) ?? ('sounding' satisfies Normalization);
    settings.colormap = (COLORMAPS as readonly string[]).includes(cmap.value) ? (cmap.value as ColormapName) : 'turbo';
    if (opacityOut) opacityOut.value = `${opacity.value}%`;
    onChange();
  };
  for (const e of [enabled, peak, opacity, norm, cmap]) e.addEventListener('input', read);
  read();
}

function input(root: ParentNode, sel: string): HTMLInputElement {
  const e = root.querySelector<HTMLInputElement>(sel);
  if (!e) throw new Error(`viewer markup is missing ${sel}`);
  return e;
}

function select(root: ParentNode, sel: string): HTMLSelectElement {
  const e = root.querySelector<HTMLSelectElement>(sel);
  if (!e) throw new Error(`viewer markup is missing ${sel}`);
  return e;
}
