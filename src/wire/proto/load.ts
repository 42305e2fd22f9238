// Loads the protobuf codec on first use. The codec and the descriptor are
// imported dynamically, here only, so that in the bundles they are evaluated only
// when a protobuf request or `--codec protobuf` first needs them: a JSON-only
// process (`agora run` by default) never runs their code.
import type { ProtoCodec } from './codec.js';

let loading: Promise<ProtoCodec> | undefined;

/**
 * The codec for every message of this folder's .proto files. From sources the
 * .proto files are compiled now (with protobufjs); in the bundles the build has
 * already compiled them (compile.ts says how).
 */
export function loadProtoCodec(): Promise<ProtoCodec> {
  loading ??= Promise.all([import('./codec.js'), import('./compile.js')]).then(
    ([{ ProtoCodec }, { compileProtos }]) => new ProtoCodec(compileProtos()),
    (error: unknown) => {
      loading = undefined;
      throw error;
    },
  );
  return loading;
}
