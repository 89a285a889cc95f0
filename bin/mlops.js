#!/usr/bin/env -S node --min-semi-space-size=16
// Thin launcher: runs the TypeScript CLI through tsx's ESM loader (no build step needed).
// --min-semi-space-size=16 (MiB): V8 shrinks an idle process's young generation to ~1 MiB, and a server's first
// second after a pause then scavenges every 5-15 ms (p99 32-99 ms in that second, docs/api.md); the flag keeps
// the size the young generation reaches under load anyway. It can only be given on the node command line.
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/index.ts');
