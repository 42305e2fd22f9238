import { Resources } from '../resources/index.js';
import { BadRequestError } from '../wire/index.js';

/** Mesos' --min_allocatable_resources default: a little CPU, or some memory. */
export const DEFAULT_MIN_ALLOCATABLE = 'cpus:0.01|mem:32';

/**
 * Parses --min_allocatable_resources: alternatives separated by '|', each a set
 * of scalar quantities ('cpus:0.01;mem:32'). Resources are allocatable when
 * they hold at least one alternative in full. Thousandths per name.
 */
export function parseMinAllocatable(text: string): ReadonlyMap<string, number>[] {
  return text
    .split('|')
    .map((alternative) => alternative.trim())
    .filter((alternative) => alternative !== '')
    .map((alternative) => {
      let resources: Resources;
      try {
        resources = Resources.parse(alternative);
      } catch (error) {
        throw new BadRequestError(
          'min_allocatable_resources',
          `'${alternative}': ${(error as Error).message}`,
        );
      }
      if (!resources.equals(resources.quotaScalars()))
        throw new BadRequestError(
          'min_allocatable_resources',
          `'${alternative}' must list unreserved scalars only`,
        );
      return resources.scalarMillis();
    });
}
