// What the benchmarks (bench/) and the timing tests (tests/e2e/big-policy.test.mjs) share: their
// command-line options and their statistics.

/**
 * The value after `--NAME` on the command line, or `fallback` when it is absent. With a number as
 * `fallback` the value is read as a number.
 */
export function arg(name, fallback) {
  const argv = process.argv.slice(2);
  const i = argv.indexOf(`--${name}`);
  if (i < 0 || i + 1 >= argv.length) return fallback;
  return typeof fallback === "number" ? Number(argv[i + 1]) : argv[i + 1];
}

/** Whether `--NAME` is on the command line (an option without a value). */
export const flag = (name) => process.argv.slice(2).includes(`--${name}`);

/** The `q` quantile of `xs` (0 to 1), interpolated between the two nearest samples. */
export function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q, lo = Math.floor(i);
  return s[lo] + (s[Math.ceil(i)] - s[lo]) * (i - lo);
}

/** The median of `xs` (the mean of the middle two for an even count). */
export const median = (xs) => quantile(xs, 0.5);
