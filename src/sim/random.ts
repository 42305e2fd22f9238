// Seeded randomness for simulations: the same seed gives the same numbers on every machine.
import assert from 'node:assert';

/** Numbers in [0, 1), like Math.random. */
export type Random = () => number;

/**
 * mulberry32 (Tommy Ettinger, public domain): a 32-bit state, period 2^32, and good enough
 * statistics for workloads. Every step is 32-bit integer arithmetic (Math.imul, >>>), so
 * the sequence is the same on every engine. `seed` is taken as an unsigned 32-bit integer.
 */
export function mulberry32(seed: number): Random {
  assert(Number.isInteger(seed), `seed must be an integer, not ${seed}`);
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Uniform in [min, max), rounded to a multiple of `step` (so it may reach max). */
export function uniform(random: Random, min: number, max: number, step: number): number {
  assert(min <= max && step > 0, `bad range [${min}, ${max}) step ${step}`);
  const value = min + random() * (max - min);
  return Math.round(Math.round(value / step) * step * 1000) / 1000;
}

/** Exponentially distributed with the given mean: the gaps between Poisson arrivals. */
export function exponential(random: Random, mean: number): number {
  assert(mean > 0, `mean must be > 0, not ${mean}`);
  return -Math.log(1 - random()) * mean;
}
