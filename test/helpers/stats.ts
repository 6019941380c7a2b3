/** Pearson's chi-square statistic of observed counts against expected counts. */
export function chiSquareStatistic(observed: readonly number[], expected: readonly number[]): number {
  if (observed.length !== expected.length) throw new Error('one expected count per observed count');
  let x = 0;
  for (const [i, o] of observed.entries()) x += (o - expected[i]) ** 2 / expected[i];
  return x;
}

/** Upper 0.1 % points of the chi-square distribution (standard tables), by degrees of freedom. */
const CRITICAL_999 = [10.828, 13.816, 16.266, 18.467, 20.515, 22.458, 24.322, 26.124, 27.877, 29.588];

export function chiSquareCritical999(df: number): number {
  const v = CRITICAL_999[df - 1];
  if (v === undefined) throw new Error(`no table value for ${df} degrees of freedom`);
  return v;
}

/** Upper 5 % points (standard tables): for checking that a test can tell a wrong model apart. */
const CRITICAL_95 = [3.841, 5.991, 7.815, 9.488, 11.07];

export function chiSquareCritical95(df: number): number {
  const v = CRITICAL_95[df - 1];
  if (v === undefined) throw new Error(`no table value for ${df} degrees of freedom`);
  return v;
}
