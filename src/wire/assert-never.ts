/** Ends an exhaustive switch: a new union member breaks the build until it is handled. */
export function assertNever(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}
