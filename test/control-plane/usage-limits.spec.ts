import { pgliteBackend } from './helpers.js';
import { usageLimitsSuite } from './suites/usage-limits.js';

usageLimitsSuite(pgliteBackend);
