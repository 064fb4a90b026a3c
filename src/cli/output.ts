/** Printing: `--json` writes the machine-readable document; otherwise short human text. */
export class Output {
  constructor(readonly json: boolean) {}

  /** Machine output: one JSON document on stdout. */
  data(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  line(text = ''): void {
    process.stdout.write(`${text}\n`);
  }

  /** Notes for humans that must not pollute stdout (e.g. "shown once"). */
  note(text: string): void {
    process.stderr.write(`${text}\n`);
  }

  /** Left-aligned columns; the header row is the first row. */
  table(rows: string[][]): void {
    if (rows.length === 0) return;
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
    for (const r of rows) this.line(r.map((cell, c) => (c === r.length - 1 ? cell : (cell ?? '').padEnd(widths[c]))).join('  ').trimEnd());
  }
}

export const when = (iso: unknown): string => (typeof iso === 'string' && iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');
