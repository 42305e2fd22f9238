// As subscribe-write.cjs, then reads the answer's head and its first RecordIO event
// (SUBSCRIBED) and exits: the floor for a Node client's first round trip to the master.
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
  );
});
let text = '';
socket.on('data', (chunk) => {
  text += chunk.toString('latin1');
  const head = text.indexOf('\r\n\r\n');
  if (head < 0) return;
  // chunk size line, then the record's length line, then the record
  const m = /^[0-9a-f]+\r\n(\d+)\n/.exec(text.slice(head + 4));
  if (m === null) return;
  const start = head + 4 + m[0].length;
  if (text.length - start < Number(m[1])) return;
  const event = JSON.parse(text.slice(start, start + Number(m[1])));
  process.exit(event.type === 'SUBSCRIBED' ? 0 : 3);
});
socket.on('error', () => process.exit(1));
