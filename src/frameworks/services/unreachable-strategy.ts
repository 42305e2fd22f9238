// Marathon's unreachableStrategy (docs/docs/configure-task-handling.md): what the services
// framework does with an instance whose agent is unreachable. Pure: no I/O.
import { z } from 'zod';

/** The longest unreachableStrategy wait: a year. */
export const MAX_UNREACHABLE_SECONDS = 365 * 86_400;

/**
 * Marathon's unreachableStrategy: `disabled` keeps an unreachable instance (it
 * counts, nothing replaces it, it is never given up); otherwise, unreachable for
 * inactiveAfterSeconds it stops counting and a replacement is launched, and for
 * expungeAfterSeconds it is forgotten, so it is killed if it ever comes back.
 * One that comes back before that is an instance too many: the surplus is
 * killed by killSelection (YOUNGEST_FIRST, the default: the replacement).
 */
export type UnreachableStrategy =
  | 'disabled'
  | { readonly inactiveAfterSeconds: number; readonly expungeAfterSeconds: number };

/** Marathon's defaults (unreachableStrategy.raml): 5 minutes to replace, 10 to forget. */
export const DEFAULT_UNREACHABLE_STRATEGY: UnreachableStrategy = {
  inactiveAfterSeconds: 300,
  expungeAfterSeconds: 600,
};

const enabledStrategySchema = z
  .object({
    // 0 replaces at once (Marathon's docs allowed it before 1.5 raised the minimum to 1).
    inactiveAfterSeconds: z.number().int().min(0).max(MAX_UNREACHABLE_SECONDS).default(300),
    expungeAfterSeconds: z.number().int().min(0).max(MAX_UNREACHABLE_SECONDS).default(600),
  })
  .strict()
  .refine((s) => s.expungeAfterSeconds >= s.inactiveAfterSeconds, {
    message: 'expungeAfterSeconds must be at least inactiveAfterSeconds',
    path: ['expungeAfterSeconds'],
  });

/** `"disabled"` or the object; parsed by hand so an error names the field, not "invalid union". */
export const unreachableStrategySchema = z
  .unknown()
  .transform((value, ctx): UnreachableStrategy => {
    if (value === 'disabled') return 'disabled';
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      ctx.addIssue({ code: 'custom', message: 'expected "disabled" or an object' });
      return z.NEVER;
    }
    const parsed = enabledStrategySchema.safeParse(value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues)
      ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
    return z.NEVER;
  });
