// The protobuf codec and its compiled descriptor as one module: the build makes it
// a bundle of its own (dist/commands/proto.cjs) that the lean `agora run` bundle
// requires only when protobuf is first used, so its start-up does not read the
// descriptor it almost never needs (scripts/build.mjs).
export { ProtoCodec } from './codec.js';
export { compileProtos } from './compile.js';
