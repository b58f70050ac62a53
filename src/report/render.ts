/**
 * A vega-lite spec to SVG (vega, headless: no browser) and SVG to PNG
 * (resvg: no system libraries). The PNGs' font ships with geobed (the npm
 * package dejavu-fonts-ttf, loaded by file, the host's fonts never): a
 * host without fonts (a slim container) rendered PNGs without any text,
 * and hosts with other fonts drew other glyphs.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { compile, type TopLevelSpec } from 'vega-lite';
import { parse, View } from 'vega';
import { Resvg, type RenderedImage } from '@resvg/resvg-js';

/** The plots' font family (plots.ts and traffic.ts name it in their configs). */
export const PLOT_FONT = 'DejaVu Sans';

/** DejaVu Sans and its bold, from the npm package. */
export function plotFontFiles(): string[] {
  const dir = join(dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  const files = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map((f) => join(dir, f));
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length) throw new Error(`the plots' font is missing (${missing.join(', ')}): reinstall geobed's dependencies (npm ci)`);
  return files;
}

export async function svgOf(spec: Record<string, unknown>): Promise<string> {
  const view = new View(parse(compile(spec as unknown as TopLevelSpec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The SVG drawn at twice its size (print resolution for a figure a column wide), in the shipped font whatever the host has. */
export function rasterOf(svg: string): RenderedImage {
  const font = { fontFiles: plotFontFiles(), loadSystemFonts: false, defaultFontFamily: PLOT_FONT, sansSerifFamily: PLOT_FONT };
  return new Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, background: 'white', font }).render();
}

export function pngOf(svg: string): Buffer {
  return rasterOf(svg).asPng();
}
