/**
 * Paired, interleaved measurements: each round runs A then B back to back, so both see the
 * same load on a shared machine (a burst from other work hits one pair, not all of one side),
 * and the per-round ratio B/A is a figure the machine's load mostly cancels out of.
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

/** `rounds` rounds of A then B (each returns its duration in ms). */
export async function interleaved(rounds: number, a: (round: number) => Promise<number>, b: (round: number) => Promise<number>): Promise<Paired> {
  const out: Paired = { a: [], b: [], ratios: [] };
  for (let i = 0; i < rounds; i++) {
    const ta = await a(i);
    const tb = await b(i);
    out.a.push(ta);
    out.b.push(tb);
    out.ratios.push(tb / ta);
  }
  return out;
}

const msText = (x: number) => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(0)} ms`);

/** One line per round and a median line: `A ms | B ms | B/A`. */
export function pairedReport(p: Paired, labelA: string, labelB: string): string[] {
  const lines = p.a.map((a, i) => `  round ${String(i + 1).padStart(2)}: ${labelA} ${msText(a).padStart(8)}  ${labelB} ${msText(p.b[i]!).padStart(8)}  ratio ${p.ratios[i]!.toFixed(1)}x`);
  lines.push(`  median  : ${labelA} ${msText(median(p.a)).padStart(8)}  ${labelB} ${msText(median(p.b)).padStart(8)}  median ratio ${median(p.ratios).toFixed(1)}x (n=${p.a.length})`);
  return lines;
}
