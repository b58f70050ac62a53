/**
 * PNG plots carry their text on every host (issue 25: on a host without
 * system fonts, a slim container, every PNG came out without a letter and
 * geobed said nothing): the font ships with geobed and the host's fonts
 * are never read.
 */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { plotFontFiles, rasterOf } from '../../src/report/render.js';

/** Pixels darker than mid-grey in an RGBA raster. */
function darkPixels(pixels: Buffer): number {
  let n = 0;
  for (let i = 0; i < pixels.length; i += 4) if (pixels[i] + pixels[i + 1] + pixels[i + 2] < 3 * 128) n++;
  return n;
}

const svg = (family: string) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"><text x="5" y="28" font-family="${family}" font-size="20">geobed 0.99 s</text></svg>`;

describe('PNG rendering', () => {
  it('draws text in the font geobed ships, whatever family the SVG names and whatever fonts the host has', () => {
    for (const file of plotFontFiles()) expect(existsSync(file)).toBe(true);
    // the host's fonts are not loaded: text drawn at all is drawn in the shipped font
    const drawn = ['sans-serif', 'DejaVu Sans', 'Some Font Nobody Has'].map((family) => rasterOf(svg(family)));
    for (const image of drawn) expect(darkPixels(image.pixels)).toBeGreaterThan(200);
    // the same glyphs every time: vega's "sans-serif" and the named family give the same picture
    expect(Buffer.compare(drawn[0].pixels, drawn[1].pixels)).toBe(0);
  });
});
