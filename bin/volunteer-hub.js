#!/usr/bin/env node
// Operator CLI entry (`npx volunteer-hub ...`): runs the compiled main with the given command.
import '../dist/main.js';
