/**
 * Paired, interleaved measurements: each round runs A then B (then C ...) back to back, so all
 * sides see the same load on a shared machine (a burst from other work hits one round, not all
 * of one side), and the per-round ratio B/A is a figure the machine's load mostly cancels out of.
 */

export const median = (xs: readonly number[]): number => {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export interface Paired {
  a: number[];
  b: number[];
  /** b[i] / a[i] per round. */
  ratios: number[];
}

/** `rounds` rounds of every side in turn (each returns its duration in ms): times[side][round]. */
export async function interleavedSides(rounds: number, sides: ReadonlyArray<(round: number) => Promise<number>>): Promise<number[][]> {
  const times = sides.map(() => [] as number[]);
  for (let i = 0; i < rounds; i++) for (let k = 0; k < sides.length; k++) times[k]!.push(await sides[k]!(i));
  return times;
}

/** `rounds` rounds of A then B (each returns its duration in ms). */
export async function interleaved(rounds: number, a: (round: number) => Promise<number>, b: (round: number) => Promise<number>): Promise<Paired> {
  const [ta, tb] = (await interleavedSides(rounds, [a, b])) as [number[], number[]];
  return { a: ta, b: tb, ratios: ta.map((x, i) => tb[i]! / x) };
}

/** Side k's time over side 0's, round by round. */
export const ratiosTo = (times: number[][], k: number): number[] => times[k]!.map((x, i) => x / times[0]![i]!);

const msText = (x: number) => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(0)} ms`);

/**
 * One line per round and a median line: every side's time, the sides after the first with their
 * ratio to the first in that round (`A ms | B ms Bx | C ms Cx`); the median line has the medians
 * of the times and of the per-round ratios.
 */
export function sidesReport(labels: readonly string[], times: number[][]): string[] {
  const ratios = times.map((_, k) => ratiosTo(times, k));
  const cell = (k: number, t: number, ratio: string) => `${labels[k]} ${msText(t).padStart(8)}${k ? ` ${ratio.padStart(6)}x` : ''}`;
  const lines = times[0]!.map((_, i) => `  round ${String(i + 1).padStart(2)}: ${times.map((ts, k) => cell(k, ts[i]!, ratios[k]![i]!.toFixed(1))).join('  ')}`);
  lines.push(`  median  : ${times.map((ts, k) => cell(k, median(ts), median(ratios[k]!).toFixed(1))).join('  ')}  (n=${times[0]!.length}; ratios: median of the per-round ratios)`);
  return lines;
}

/** sidesReport of two sides: `A ms  B ms Bx` per round, then medians. */
export const pairedReport = (p: Paired, labelA: string, labelB: string): string[] => sidesReport([labelA, labelB], [p.a, p.b]);
