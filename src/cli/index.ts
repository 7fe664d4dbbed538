#!/usr/bin/env node
import { buildProgram } from './program.js';
import { handleError } from './handle-error.js';

const program = buildProgram();
try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = handleError(error);
}
