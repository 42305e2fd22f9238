// How a scheduler client encodes its calls and decodes its events: JSON, or
// protobuf (what widely used Mesos client libraries speak by default). The
// protobuf codec itself is loaded only when asked for (wire's loadProtoCodec), so
// a JSON client's start-up (`agora run`'s) does not pay for it.
import { type Event, loadProtoCodec, PROTO_MESSAGES } from '../wire/index.js';

export type CodecName = 'json' | 'protobuf';

export interface SchedulerCodec {
  /** Content-Type of calls and Accept of the event stream, exactly as Mesos compares them. */
  readonly mediaType: 'application/json' | 'application/x-protobuf';
  encodeCall(call: unknown): string | Uint8Array;
  /** One RecordIO record as an event; a protobuf event lacking a required field throws. */
  decodeEvent(record: Buffer): Event;
}

export const JSON_SCHEDULER_CODEC: SchedulerCodec = {
  mediaType: 'application/json',
  encodeCall: (call) => JSON.stringify(call),
  decodeEvent: (record) => JSON.parse(record.toString('utf8')) as Event,
};

export async function schedulerCodec(name: CodecName = 'json'): Promise<SchedulerCodec> {
  if (name === 'json') return JSON_SCHEDULER_CODEC;
  const codec = await loadProtoCodec();
  return {
    mediaType: 'application/x-protobuf',
    encodeCall: (call) => codec.encode(PROTO_MESSAGES.schedulerCall, call),
    // The decoded object has the shape of the JSON encoding of the same event.
    decodeEvent: (record) =>
      codec.decode(PROTO_MESSAGES.schedulerEvent, record) as unknown as Event,
  };
}
