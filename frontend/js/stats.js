/**
 * The 95% Wilson score interval of a conversion rate: shown beside each measurement when
 * two are compared side by side, so a merchant sees how much a CVR could move by chance.
 * (Experiments get their differences and intervals from the API.)
 */
export function wilsonInterval(successes, trials, z = 1.959964) {
  if (!trials) return null;
  const p = successes / trials;
  const denominator = 1 + (z * z) / trials;
  const centre = (p + (z * z) / (2 * trials)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + (z * z) / (4 * trials * trials))) / denominator;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}
