import type { ColormapName } from '../../src/wire/colormap.ts';
import type { Normalization } from './heatmap-math.ts';

/** How every tile draws its overlay; one shared instance, changed by the controls panel. */
export interface OverlaySettings {
  enabled: boolean;
  /** 0..1, the overlay's alpha over the picture. */
  opacity: number;
  normalization: Normalization;
  colormap: ColormapName;
  showPeak: boolean;
}

export const DEFAULT_SETTINGS: OverlaySettings = {
  enabled: true,
  opacity: 0.5,
  normalization: 'sounding',
  colormap: 'turbo',
  showPeak: true,
};
