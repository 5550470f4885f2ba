import { sqlInstancesSuite } from './sql-suite.js';

sqlInstancesSuite('pgsql');
