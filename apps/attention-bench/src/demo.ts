#!/usr/bin/env node
// `npm run demo` (through scripts/bootstrap.mjs) runs this file: every registered attention op, checked and
// timed, with an HTML report. The flags are in src/args.ts (or `--help`).
import { main } from './main.js';

const { exitCode } = await main(process.argv.slice(2));
process.exitCode = exitCode;
