// One rule for every `labels` map of an app (the app's own, a port definition's, a network's,
// a port mapping's): Marathon documents no bound, and each labels map ends in a Mesos Labels
// message, so one bound keeps them alike. The body's size cap bounds their sum. Pure.
import { z } from 'zod';

export const LABEL_LIMITS = {
  entries: 1000,
  keyChars: 255,
  /** As an environment value: a label is often copied into one. */
  valueChars: 32 * 1024,
} as const;

export const labelsSchema = z
  .record(z.string().min(1).max(LABEL_LIMITS.keyChars), z.string().max(LABEL_LIMITS.valueChars))
  .refine(
    (labels) => Object.keys(labels).length <= LABEL_LIMITS.entries,
    `at most ${LABEL_LIMITS.entries} labels`,
  );
