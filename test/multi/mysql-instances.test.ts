import { sqlInstancesSuite } from './sql-suite.js';

sqlInstancesSuite('mysql');
