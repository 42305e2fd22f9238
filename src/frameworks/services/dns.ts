// DNS for service discovery, named as Mesos-DNS names Marathon's tasks
// (mesos-dns docs/naming.md): `<app>.<framework>.<domain>` has an A record per
// healthy instance, `_<app>._tcp.<framework>.<domain>` an SRV record per
// instance port, whose target `<app>-<n>-<instance>.<framework>.<domain>`
// resolves to that instance's host. Pure: the message codec (RFC 1035) and the
// zone; dns-server.ts does the sockets.

export const TYPE_A = 1;
export const TYPE_SRV = 33;
export const TYPE_ANY = 255;
const CLASS_IN = 1;
const TTL_SECONDS = 1;
/** RFC 1035's limit for a UDP answer without EDNS; larger answers set TC and are fetched over TCP. */
export const MAX_UDP_BYTES = 512;

export interface Question {
  readonly id: number;
  readonly name: string;
  readonly type: number;
  readonly flags: number;
}

export type Record_ =
  | { readonly kind: 'A'; readonly name: string; readonly ip: string }
  | {
      readonly kind: 'SRV';
      readonly name: string;
      readonly port: number;
      readonly target: string;
    };

/** The question of a query, or undefined for a message we do not answer (malformed, a response). */
export function parseQuery(message: Buffer): Question | undefined {
  if (message.length < 12 || message.length > 4096) return undefined;
  const id = message.readUInt16BE(0);
  const flags = message.readUInt16BE(2);
  if ((flags & 0x8000) !== 0 || message.readUInt16BE(4) !== 1) return undefined;
  const labels: string[] = [];
  let offset = 12;
  for (let hops = 0; hops < 128; hops++) {
    const length = message[offset];
    if (length === undefined || length > 63) return undefined;
    offset += 1;
    if (length === 0) break;
    if (offset + length > message.length) return undefined;
    labels.push(
      message
        .subarray(offset, offset + length)
        .toString('latin1')
        .toLowerCase(),
    );
    offset += length;
  }
  if (offset + 4 > message.length) return undefined;
  return { id, name: labels.join('.'), type: message.readUInt16BE(offset), flags };
}

function encodeName(name: string): Buffer {
  const parts = name.split('.').filter(Boolean);
  const buffers = parts.map((part) => {
    const bytes = Buffer.from(part.slice(0, 63), 'latin1');
    return Buffer.concat([Buffer.from([bytes.length]), bytes]);
  });
  return Buffer.concat([...buffers, Buffer.from([0])]);
}

function encodeRecord(record: Record_): Buffer {
  const name = encodeName(record.name);
  let data: Buffer;
  let type: number;
  if (record.kind === 'A') {
    type = TYPE_A;
    data = Buffer.from(record.ip.split('.').map(Number));
  } else {
    type = TYPE_SRV;
    const target = encodeName(record.target);
    data = Buffer.alloc(6 + target.length);
    data.writeUInt16BE(0, 0); // priority
    data.writeUInt16BE(0, 2); // weight
    data.writeUInt16BE(record.port, 4);
    target.copy(data, 6);
  }
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(CLASS_IN, 2);
  fixed.writeUInt32BE(TTL_SECONDS, 4);
  fixed.writeUInt16BE(data.length, 8);
  return Buffer.concat([name, fixed, data]);
}

export type Rcode = 0 | 2 | 3 | 5; // NOERROR, SERVFAIL, NXDOMAIN, REFUSED

/** A response to `question`; answers that do not fit in `maxBytes` are cut and TC set. */
export function encodeResponse(
  question: Question,
  rcode: Rcode,
  answers: readonly Record_[],
  additional: readonly Record_[],
  maxBytes: number,
): Buffer {
  const q = Buffer.concat([
    encodeName(question.name),
    Buffer.from([0, question.type, 0, CLASS_IN]),
  ]);
  q.writeUInt16BE(question.type, q.length - 4);
  let size = 12 + q.length;
  const answerBytes: Buffer[] = [];
  let isTruncated = false;
  for (const record of answers) {
    const bytes = encodeRecord(record);
    if (size + bytes.length > maxBytes) {
      isTruncated = true;
      break;
    }
    answerBytes.push(bytes);
    size += bytes.length;
  }
  const additionalBytes: Buffer[] = [];
  if (!isTruncated)
    for (const record of additional) {
      const bytes = encodeRecord(record);
      if (size + bytes.length > maxBytes) break;
      additionalBytes.push(bytes);
      size += bytes.length;
    }
  const header = Buffer.alloc(12);
  header.writeUInt16BE(question.id, 0);
  // QR, opcode 0, AA, TC as needed, RD copied, RA off.
  const rd = question.flags & 0x0100;
  header.writeUInt16BE(0x8000 | 0x0400 | (isTruncated ? 0x0200 : 0) | rd | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answerBytes.length, 6);
  header.writeUInt16BE(0, 8);
  header.writeUInt16BE(additionalBytes.length, 10);
  return Buffer.concat([header, q, ...answerBytes, ...additionalBytes]);
}

export interface ZoneInstance {
  readonly appLabel: string;
  readonly id: string;
  readonly ip: string;
  readonly ports: readonly number[];
}

/** Every name the zone answers, rebuilt whenever instances or health change. */
export class Zone {
  private readonly records = new Map<string, Record_[]>();

  constructor(
    /** `services.agora.directory`: the framework's name, then the domain. */
    readonly suffix: string,
    instances: readonly ZoneInstance[],
  ) {
    for (const instance of instances) {
      const name = `${instance.appLabel}.${suffix}`;
      this.add({ kind: 'A', name, ip: instance.ip });
      const unique = instance.id.slice(instance.id.lastIndexOf('.') + 1).slice(0, 12);
      for (const [i, port] of instance.ports.entries()) {
        const target = `${instance.appLabel}-${i}-${unique}.${suffix}`;
        this.add({ kind: 'A', name: target, ip: instance.ip });
        this.add({ kind: 'SRV', name: `_${instance.appLabel}._tcp.${suffix}`, port, target });
      }
    }
  }

  private add(record: Record_): void {
    const list = this.records.get(record.name);
    if (list === undefined) this.records.set(record.name, [record]);
    else list.push(record);
  }

  /** The answer to a question: records and rcode (REFUSED outside the zone, NXDOMAIN for an unknown name). */
  answer(question: Question): { rcode: Rcode; answers: Record_[]; additional: Record_[] } {
    const name = question.name;
    if (name !== this.suffix && !name.endsWith(`.${this.suffix}`))
      return { rcode: 5, answers: [], additional: [] };
    const all = this.records.get(name) ?? [];
    if (all.length === 0 && name !== this.suffix) return { rcode: 3, answers: [], additional: [] };
    const answers = all.filter(
      (r) =>
        question.type === TYPE_ANY ||
        (question.type === TYPE_A && r.kind === 'A') ||
        (question.type === TYPE_SRV && r.kind === 'SRV'),
    );
    const additional: Record_[] = [];
    for (const record of answers)
      if (record.kind === 'SRV') additional.push(...(this.records.get(record.target) ?? []));
    return { rcode: 0, answers, additional };
  }
}
