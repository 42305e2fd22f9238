// Nothing: `node <file>` against `node -e 0`, the cost of a file as node's entry (bench/cli-floor.ts).
'use strict';
