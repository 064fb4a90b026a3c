/**
 * A one-line progress bar on stderr (bytes, percent, speed, ETA). Only on a terminal:
 * when stderr is a pipe or a file nothing is written, so logs of CI jobs stay clean.
 */
export function humanSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[i]}`;
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export class Progress {
  private done = 0;
  private lastDraw = 0;
  private readonly started = Date.now();
  private finished = false;

  constructor(
    private readonly label: string,
    private readonly total: number | undefined,
    private readonly enabled: boolean,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {}

  static enabledFor(out: NodeJS.WriteStream = process.stderr, disabled = false): boolean {
    return !disabled && out.isTTY === true;
  }

  add(n: number): void {
    this.done += n;
    const now = Date.now();
    // ~10 redraws a second is smooth and costs nothing.
    if (this.enabled && now - this.lastDraw >= 100) {
      this.lastDraw = now;
      this.draw(false);
    }
  }

  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.enabled) this.draw(true);
  }

  /** Abort: end the line so the error message starts on its own line. */
  abort(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.enabled && this.lastDraw) this.out.write('\n');
  }

  private draw(final: boolean): void {
    const elapsed = Math.max((Date.now() - this.started) / 1000, 0.001);
    const speed = this.done / elapsed;
    const width = Math.max(10, Math.min(30, (this.out.columns ?? 80) - 70));
    let line: string;
    if (this.total && this.total > 0) {
      const frac = Math.min(this.done / this.total, 1);
      const fill = Math.round(frac * width);
      const eta = final ? 0 : (this.total - this.done) / Math.max(speed, 1);
      line = `${this.label} [${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${String(Math.floor(frac * 100)).padStart(3)}% ${humanSize(this.done)}/${humanSize(this.total)} ${humanSize(speed)}/s ETA ${clock(eta)}`;
    } else {
      line = `${this.label} ${humanSize(this.done)} ${humanSize(speed)}/s`;
    }
    this.out.write(`\r\x1b[K${line}${final ? '\n' : ''}`);
  }
}
