#!/usr/bin/env node
// rpcli launcher: compile the TypeScript sources on the fly with tsx, then run the CLI.
'use strict';
require('tsx/cjs');
require('../src/cli/main.ts').run();
