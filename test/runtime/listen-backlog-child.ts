// Run in a network namespace of its own (listen-backlog.test.ts): raises that namespace's
// net.core.somaxconn, listens as the master does, and prints the listen queue's length as
// the kernel took it (ss's Send-Q of a listening socket).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { HttpServer } from '../../src/runtime/http-server.js';
import { silentLogger } from '../../src/runtime/logger.js';

writeFileSync('/proc/sys/net/core/somaxconn', '65535');
const server = new HttpServer({ logger: silentLogger() });
const { port } = await server.listen('127.0.0.1', 0);
const line = execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' }).trim();
// State, Recv-Q, Send-Q (the backlog), local address, peer address.
process.stdout.write(`${line.split(/\s+/)[2]}\n`);
await server.close();
