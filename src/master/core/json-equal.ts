// The master's books compare JSON values with the wire layer's jsonEqual.
export { jsonEqual } from '../../wire/index.js';
