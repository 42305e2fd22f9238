// The scheduler client's protobuf encoding: calls as mesos.v1.scheduler.Call,
// events decoded from mesos.v1.scheduler.Event into the same objects JSON gives.
import { type Event, loadProtoCodec, PROTO_MESSAGES } from '../wire/index.js';
import type { SchedulerCodec } from './codec.js';

export async function protobufSchedulerCodec(): Promise<SchedulerCodec> {
  const codec = await loadProtoCodec();
  return {
    mediaType: 'application/x-protobuf',
    encodeCall: (call) => codec.encode(PROTO_MESSAGES.schedulerCall, call),
    // The decoded object has the shape of the JSON encoding of the same event.
    decodeEvent: (record) =>
      codec.decode(PROTO_MESSAGES.schedulerEvent, record) as unknown as Event,
  };
}
