import { pgliteBackend } from './helpers.js';
import { leasesSuite } from './suites/leases.js';

leasesSuite(pgliteBackend);
