#!/usr/bin/env node
// Runs the compiled CLI when the package is installed, or the TypeScript sources in a checkout
// (Node 22.18+ and 24 run them directly).
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
const { main } = await import(existsSync(compiled) ? compiled.href : new URL('../src/cli/main.ts', import.meta.url).href);
process.exitCode = await main(process.argv);
