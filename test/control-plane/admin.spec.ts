import { pgliteBackend } from './helpers.js';
import { adminSuite } from './suites/admin.js';

adminSuite(pgliteBackend);
