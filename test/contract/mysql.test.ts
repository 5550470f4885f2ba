import { sqlContractSuite } from './sql-suite.js';

sqlContractSuite('mysql');
