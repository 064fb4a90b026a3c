/**
 * The worker side of src/util/zstd.ts: runs ZstdStreamDecoder (pure JS fzstd, synchronous)
 * off the event loop. One stream at a time; the main thread reuses idle workers.
 *
 * Flow control: output bytes not yet taken by the main thread's consumer are counted in a
 * shared Int32Array; above HIGH_WATER the worker blocks in Atomics.wait until the consumer
 * catches up, so a small input chunk that expands to gigabytes never piles up in messages.
 * Time: the worker's busy time (not counting those waits) is bounded by the budget the main
 * thread sends, so a frame crafted to be slow (fzstd moves its whole window once per block)
 * fails instead of holding a core.
 */
import { parentPort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { asDataError, ZstdDataError, ZstdStreamDecoder } from './zstd-decode';

export interface StartMessage {
  type: 'start';
  maxOutput: number;
  /** Busy-time budget: base milliseconds, plus per MiB of output `msPerMiB` + `msPerMiBPerWindowMiB` x the frame's window in MiB. */
  baseMs: number;
  msPerMiB: number;
  msPerMiBPerWindowMiB: number;
  /** [0] = output bytes posted but not yet consumed. */
  credit: SharedArrayBuffer;
}
export type ToWorker = StartMessage | { type: 'chunk'; data: Uint8Array } | { type: 'end' };
export type FromWorker =
  | { type: 'data'; data: Uint8Array }
  | { type: 'ack' }
  | { type: 'end' }
  | { type: 'error'; message: string; data: boolean };

/** Output bytes in flight before the worker waits for the consumer. */
export const HIGH_WATER = 4 << 20;

const port = parentPort!;
let decoder: ZstdStreamDecoder | undefined;
let credit: Int32Array;
let busyMs = 0;
let budget = { baseMs: 0, msPerMiB: 0, msPerMiBPerWindowMiB: 0 };
/** Busy time earned by output so far (fzstd's cost per output byte grows with the window, see zstd.ts). */
let earnedMs = 0;
let busySince = 0;

function overBudget(): void {
  const now = performance.now();
  busyMs += now - busySince;
  busySince = now;
  const allowed = budget.baseMs + earnedMs;
  if (busyMs > allowed) throw new ZstdDataError(`zstd decompression took more than ${Math.round(allowed)} ms of CPU (deliberately slow data?)`);
}

function emit(chunk: Uint8Array): void {
  // fzstd may hand out views of its own window: copy before transferring.
  const copy = new Uint8Array(chunk);
  earnedMs += (copy.length / 2 ** 20) * (budget.msPerMiB + (budget.msPerMiBPerWindowMiB * decoder!.currentWindow) / 2 ** 20);
  Atomics.add(credit, 0, copy.length);
  port.postMessage({ type: 'data', data: copy } satisfies FromWorker, [copy.buffer]);
  overBudget();
  while (Atomics.load(credit, 0) > HIGH_WATER) {
    const seen = Atomics.load(credit, 0);
    const waitStart = performance.now();
    Atomics.wait(credit, 0, seen, 1000);
    busySince += performance.now() - waitStart; // waiting for the consumer is not our time
  }
}

function run(f: () => void, after: FromWorker): void {
  busySince = performance.now();
  try {
    f();
    overBudget();
    port.postMessage(after);
  } catch (e) {
    const err = asDataError(e);
    decoder = undefined;
    port.postMessage({ type: 'error', message: err.message, data: err instanceof ZstdDataError } satisfies FromWorker);
  }
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'start') {
    credit = new Int32Array(m.credit);
    budget = { baseMs: m.baseMs, msPerMiB: m.msPerMiB, msPerMiBPerWindowMiB: m.msPerMiBPerWindowMiB };
    busyMs = 0;
    earnedMs = 0;
    decoder = new ZstdStreamDecoder(emit, m.maxOutput);
    return;
  }
  if (!decoder) return; // after an error: ignore the rest of that stream
  const d = decoder;
  if (m.type === 'chunk') run(() => d.push(m.data), { type: 'ack' });
  else
    run(() => {
      d.end();
      decoder = undefined;
    }, { type: 'end' });
});
