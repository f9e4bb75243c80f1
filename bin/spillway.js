#!/usr/bin/env -S node --max-semi-space-size=16 --heap-growing-percent=100
// The V8 flags above bound memory: young-generation semi-spaces of 16 MiB (V8 gives a machine with
// this much memory 64 MiB, whose scavenges pause a continuous sink for tens of milliseconds) and
// an old generation that grows by 2x between full collections instead of up to 4x. They take
// effect only when Node starts, so this line is their one home: ./spillway and the benchmarks
// read them from here (docs/benchmarks.md).
// Runs the compiled CLI when the package is installed, or the TypeScript sources in a checkout
// (Node 22.18+ and 24 run them directly). The version check comes first and uses nothing newer
// than Node 14, so an older Node says what is wrong in one line instead of failing inside.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`spillway: Spillway needs Node >= 22.18 (this is Node ${process.versions.node}); install Node 22.18 or later (or run ./spillway in a checkout, which installs Node 24)\n`);
  process.exit(1);
}
const { existsSync } = await import('node:fs');
const compiled = new URL('../dist/cli/main.js', import.meta.url);
const { main } = await import(existsSync(compiled) ? compiled.href : new URL('../src/cli/main.ts', import.meta.url).href);
process.exitCode = await main(process.argv);
