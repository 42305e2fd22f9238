declare const brand: unique symbol;

/**
 * A nominal type over a structural one: an agent id's string cannot be passed
 * where a framework id's is expected, though both are plain strings at run time.
 * Brands are minted only where wire/ parses input and in id generators.
 */
export type Brand<T, B extends string> = T & { readonly [brand]: B };
