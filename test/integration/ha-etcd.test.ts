import { haSuite } from './ha-suite.js';

haSuite('etcd');
