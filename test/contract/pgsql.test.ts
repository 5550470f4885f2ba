import { sqlContractSuite } from './sql-suite.js';

sqlContractSuite('pgsql');
