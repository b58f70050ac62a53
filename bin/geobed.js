#!/usr/bin/env node
// The geobed command: runs the compiled CLI (npm install builds it into dist/).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const main = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'src', 'cli', 'main.js');
if (!existsSync(main)) {
  process.stderr.write('geobed: not built yet; run "npm install" (or "npm run build") in the geobed folder first\n');
  process.exit(1);
}
await import(pathToFileURL(main).href);
