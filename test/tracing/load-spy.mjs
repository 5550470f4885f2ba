// Loaded with `node --import` (NODE_OPTIONS) by the tracing test: records every module URL under
// @opentelemetry that the process resolves, one per line, in $LOAD_SPY_FILE.
import { register } from 'node:module';

register('./load-spy-hooks.mjs', import.meta.url, { data: { file: process.env.LOAD_SPY_FILE } });
