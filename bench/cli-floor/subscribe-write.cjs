// Floor for any Node client of the scheduler API (bench/cli-floor.ts): load node:net,
// connect, write one SUBSCRIBE, exit once the kernel has it. No parsing, no answer read.
'use strict';
const { connect } = require('node:net');

const [host, port] = process.argv[2].split(':');
const body = JSON.stringify({
  type: 'SUBSCRIBE',
  subscribe: { framework_info: { user: 'root', name: 'floor', role: '*', failover_timeout: 0 } },
});
const socket = connect({ host, port: Number(port) });
socket.setNoDelay(true);
socket.on('connect', () => {
  socket.write(
    `POST /api/v1/scheduler HTTP/1.1\r\nhost: ${process.argv[2]}\r\ncontent-type: application/json\r\naccept: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    () => process.exit(0),
  );
});
socket.on('error', () => process.exit(1));
