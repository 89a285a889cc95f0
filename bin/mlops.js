#!/usr/bin/env -S node --min-semi-space-size=16
// Launcher. Runs the compiled CLI (dist/, from `npm run build`, which `npm install` runs) when every source file
// has a compiled counterpart at least as new; otherwise (sources edited since the build, or no build) the
// TypeScript sources through tsx's loader. Compiled, the process has no loader-hooks thread and its worker threads
// load no tsx: ~60 MiB less memory for `mlops serve`, and a faster start. MLOPS_FROM_SOURCE=1 forces the sources.
// --min-semi-space-size=16 (MiB): V8 shrinks an idle process's young generation to ~1 MiB, and a server's first
// second after a pause then scavenges every 5-15 ms (p99 32-99 ms in that second, docs/api.md); the flag keeps
// the size the young generation reaches under load anyway. It can only be given on the node command line.
import { existsSync, readdirSync, statSync } from 'node:fs';

const src = new URL('../src/', import.meta.url);
const dist = new URL('../dist/', import.meta.url);

/**
 * The first src/ .ts (path under src/) without a .js in dist/ at least as new (same relative path; declarations
 * compile to nothing), or null when dist/ is current.
 */
function staleSource(rel) {
  for (const e of readdirSync(new URL(rel, src), { withFileTypes: true })) {
    if (e.isDirectory()) {
      const stale = staleSource(`${rel}${e.name}/`);
      if (stale) return stale;
    } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
      const from = statSync(new URL(`${rel}${e.name}`, src)).mtimeMs;
      const to = statSync(new URL(`${rel}${e.name.slice(0, -3)}.js`, dist), { throwIfNoEntry: false });
      if (!to || to.mtimeMs < from) return `${rel}${e.name}`;
    }
  }
  return null;
}

const forced = process.env.MLOPS_FROM_SOURCE === '1';
const built = existsSync(new URL('cli/index.js', dist));
/** a deployment may ship dist/ without src/: then there is nothing for dist/ to be stale against */
const stale = forced || !existsSync(src) ? null : staleSource('');

if (!forced && built && stale === null) {
  await import('../dist/cli/index.js');
} else {
  // said once per command on stderr (stdout stays clean for --json): the sources cost start-up time and memory
  if (stale !== null) {
    const why = built ? `dist/ is older than src/${stale}` : 'dist/ is not built';
    process.stderr.write(`mlops: ${why}; running the TypeScript sources (slower, more memory): npm run build\n`);
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/index.ts');
}
