// The codec's errors, apart from the codec itself: the HTTP layer tells a
// client's malformed body from Agora's own bug by these, and importing them
// must not load the codec (see load.ts).

/** A protobuf body that is not a valid message of its type: the client's mistake. */
export class ProtoDecodeError extends Error {
  constructor(
    /** Dotted path of the field being read (`subscribe.framework_info.name`), '' at the top. */
    readonly path: string,
    readonly reason: string,
    /** Byte offset in the body where reading failed. */
    readonly offset: number,
  ) {
    super(`${path === '' ? '' : `${path}: `}${reason} (at byte ${offset})`);
    this.name = 'ProtoDecodeError';
  }
}

/** A value that does not fit its message type: whoever built it made a mistake. */
export class ProtoEncodeError extends Error {
  constructor(
    /** Dotted path of the offending field (`update.status.task_id`), '' for the whole value. */
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path === '' ? '' : `${path}: `}${reason}`);
    this.name = 'ProtoEncodeError';
  }

  /** The same error one level up: `segment` is a field name, a map key or `[index]`. */
  within(segment: string): ProtoEncodeError {
    const path =
      this.path === ''
        ? segment
        : this.path.startsWith('[')
          ? `${segment}${this.path}`
          : `${segment}.${this.path}`;
    return new ProtoEncodeError(path, this.reason);
  }
}
