/** The CLI's entry point for the bundle (dist/rpcli.js, served at GET /rpcli) and bin/rpcli.js. */
import { run } from './main';

run();
