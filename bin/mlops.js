#!/usr/bin/env node
// Thin launcher: runs the TypeScript CLI through tsx's ESM loader (no build step needed).
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/index.ts');
