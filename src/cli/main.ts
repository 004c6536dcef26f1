#!/usr/bin/env node
// First import: in the single executable it extracts the embedded native addon before any
// library module can load it.
import './sea-addon.js';
import { run } from './program.js';

// No top-level await: the single executable is a CommonJS bundle.
void run(process.argv).then((code) => {
  // On success let open handles finish (the verbs close what they open) and keep an exit code a
  // verb set (e.g. `call` answered with a non-zero status); a failure may leave sockets behind.
  if (code !== 0) process.exit(code);
});
