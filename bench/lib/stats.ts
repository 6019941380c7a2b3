/** The median of `xs` (the lower middle one of an even count), null when there is none. */
export function median(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

/** Rounded to three decimals, as the benches write their figures. */
export const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/**
 * For a bench that alternates ways of doing one thing in rounds (one row per round and way): the
 * median over `way`'s rounds of each of `fields`, rounded, as `<field>Median`.
 */
export function mediansOf<R extends { way: string }, K extends keyof R & string>(
  runs: R[],
  way: string,
  fields: K[],
): Record<`${K}Median`, number> {
  const mine = runs.filter((r) => r.way === way);
  const out: Record<string, number> = {};
  for (const f of fields) out[`${f}Median`] = round3(median(mine.map((r) => Number(r[f]))) ?? Number.NaN);
  return out as Record<`${K}Median`, number>;
}
