import { pgliteBackend } from './helpers.js';
import { runnerProtocolSuite } from './suites/runner-protocol.js';

runnerProtocolSuite(pgliteBackend);
