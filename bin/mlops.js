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

/** true when dist/ holds a .js at least as new as each src/ .ts (same relative path; declarations compile to nothing) */
function compiledIsCurrent(rel) {
  for (const e of readdirSync(new URL(rel, src), { withFileTypes: true })) {
    if (e.isDirectory()) {
      if (!compiledIsCurrent(`${rel}${e.name}/`)) return false;
    } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
      const from = statSync(new URL(`${rel}${e.name}`, src)).mtimeMs;
      const to = statSync(new URL(`${rel}${e.name.slice(0, -3)}.js`, dist), { throwIfNoEntry: false });
      if (!to || to.mtimeMs < from) return false;
    }
  }
  return true;
}

/** dist/ is current; a deployment may ship dist/ without src/, then there is nothing to be stale against */
const distIsCurrent = () => (existsSync(src) ? compiledIsCurrent('') : existsSync(new URL('cli/index.js', dist)));

if (process.env.MLOPS_FROM_SOURCE !== '1' && distIsCurrent()) {
  await import('../dist/cli/index.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/index.ts');
}
