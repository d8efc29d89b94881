// Builds the browser bundle into web/ui/static/dist (embedded by the Go package web/ui):
//   app.js   esbuild bundle of htmx, the Alpine.js CSP build, Chart.js and our code
//   app.css  Tailwind CSS, scanning web/ui/templates and web/ui/assets
//   favicon.svg, manifest.json (the list of files; Go hashes them at start-up)
// Usage: node web/ui/assets/build.mjs [--watch]   (npm run build / npm run watch)
import { build, context } from 'esbuild';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const dist = join(here, '..', 'static', 'dist');
const watch = process.argv.includes('--watch');

const jsOptions = {
  entryPoints: [join(here, 'app.js')],
  outfile: join(dist, 'app.js'),
  bundle: true,
  format: 'iife',
  target: ['es2020'],
  minify: !watch,
  legalComments: 'none',
  logLevel: 'warning',
  // htmx contains a direct eval() that runs only when htmx.config.allowEval is true;
  // we turn it off (the CSP forbids it anyway), so the warning is noise.
  logOverride: { 'direct-eval': 'silent' },
};

function tailwind(extra) {
  const bin = join(root, 'node_modules', '.bin', 'tailwindcss');
  const args = ['-i', join(here, 'app.css'), '-o', join(dist, 'app.css'), ...extra];
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tailwindcss exited with ${code}`))));
  });
}

async function writeManifest() {
  const files = ['app.js', 'app.css', 'favicon.svg'];
  await writeFile(join(dist, 'manifest.json'), JSON.stringify({ version: 1, files }, null, 2) + '\n');
}

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
await copyFile(join(here, 'favicon.svg'), join(dist, 'favicon.svg'));

if (watch) {
  const ctx = await context(jsOptions);
  await ctx.rebuild();
  await tailwind([]);
  await writeManifest();
  await ctx.watch();
  console.log('assets: watching; serve with ui.Config.Dev to reload from disk');
  await tailwind(['--watch']);
} else {
  await Promise.all([build(jsOptions), tailwind(['--minify'])]);
  await writeManifest();
  console.log('assets: built web/ui/static/dist');
}
