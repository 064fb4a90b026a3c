/**
 * Polls a test server's /healthz while other work runs, for the hardening issue's "no single
 * upload may block other requests". Two figures: the slowest /healthz answer (what a client
 * sees: it includes the machine's load, the libuv thread pool the probe's file write shares
 * with uploads, and the database), and the worst lateness of this process's event loop (the
 * test servers run in the test process, so this is the share of a stall the server's own
 * JavaScript caused; measured with perf_hooks.monitorEventLoopDelay).
 */
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface HealthFigures {
  /** Slowest /healthz round trip, ms. */
  healthMs: number;
  /** Largest event-loop delay seen, ms. */
  loopMs: number;
}

export function watchHealth(baseUrl: string, intervalMs = 100): { stop(): Promise<HealthFigures> } {
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  let running = true;
  let slowest = 0;
  const loop = (async () => {
    while (running) {
      const t0 = Date.now();
      const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      assert.equal(res.status, 200);
      slowest = Math.max(slowest, Date.now() - t0);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      loopDelay.disable();
      return { healthMs: slowest, loopMs: loopDelay.max / 1e6 };
    },
  };
}
