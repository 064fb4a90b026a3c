/**
 * Prometheus metrics (prom-client), one registry per server (tests run several in a process).
 * Labels are bounded sets only: HTTP routes are labelled by their route template
 * (`/api/repos/:provider/:repo`), never by the raw path, which would make one series per
 * package file.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { BlobStore } from '../storage/blob-store';

export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({ name: 'artifactd_http_requests_total', help: 'HTTP requests by method, route template and status code', labelNames: ['method', 'route', 'status'] as const, registers: [this.registry] });
  readonly httpDuration = new Histogram({
    name: 'artifactd_http_request_duration_seconds',
    help: 'HTTP request latency (until the response is finished) by method and route template',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly bytesReceived = new Counter({ name: 'artifactd_http_received_bytes_total', help: 'Request body bytes received (uploads), by route template', labelNames: ['route'] as const, registers: [this.registry] });
  readonly bytesSent = new Counter({ name: 'artifactd_http_sent_bytes_total', help: 'Response body bytes sent (package and index files, pages), by route template', labelNames: ['route'] as const, registers: [this.registry] });
  readonly publishes = new Counter({ name: 'artifactd_publishes_total', help: 'Index scope publishes by provider and outcome', labelNames: ['provider', 'outcome'] as const, registers: [this.registry] });
  readonly publishDuration = new Histogram({
    name: 'artifactd_publish_duration_seconds',
    help: 'Time to build, store and flip one index scope, by provider',
    labelNames: ['provider'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly webhookDeliveries = new Counter({ name: 'artifactd_webhook_deliveries_total', help: 'Webhook delivery attempts by outcome (delivered, retry, failed: given up)', labelNames: ['outcome'] as const, registers: [this.registry] });
  readonly blobErrors = new Counter({ name: 'artifactd_blob_store_errors_total', help: 'Failed blob store operations by operation', labelNames: ['operation'] as const, registers: [this.registry] });
  readonly dbErrors = new Counter({ name: 'artifactd_database_errors_total', help: 'Failed database queries', registers: [this.registry] });
  readonly downloads = new Counter({ name: 'artifactd_downloads_total', help: 'Package file downloads (index files not counted), by provider', labelNames: ['provider'] as const, registers: [this.registry] });

  constructor(pending: { scopes: () => Promise<number>; deliveries: () => Promise<number> }) {
    collectDefaultMetrics({ register: this.registry });
    // prom-client names these gauges `_total`, which Prometheus reserves for counters
    // (`promtool check metrics` flags them); the process and heap metrics stay.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
    for (const d of [0, 1, 2]) this.webhookDeliveries.inc({ outcome: ['delivered', 'retry', 'failed'][d] }, 0);
    new Gauge({
      name: 'artifactd_pending_publish_scopes',
      help: 'Index scopes with changes not yet published',
      registers: [this.registry],
      async collect() {
        this.set(await pending.scopes());
      },
    });
    new Gauge({
      name: 'artifactd_webhook_deliveries_pending',
      help: 'Webhook deliveries queued or waiting for a retry',
      registers: [this.registry],
      async collect() {
        this.set(await pending.deliveries());
      },
    });
  }

  /** Count failed queries: TypeORM reports every one to its logger, whatever `logging` says. */
  watchDatabase(ds: DataSource): void {
    const logger = ds.logger;
    const original = logger.logQueryError.bind(logger);
    logger.logQueryError = (...args: Parameters<typeof original>) => {
      this.dbErrors.inc();
      return original(...args);
    };
  }

  /** The blob store with every rejected operation counted. */
  watchBlobs<T extends BlobStore>(blobs: T): T {
    const errors = this.blobErrors;
    return new Proxy(blobs, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof v !== 'function' || prop === 'constructor') return v;
        return (...args: unknown[]) => {
          const out = (v as (...a: unknown[]) => unknown).apply(target, args);
          if (out instanceof Promise) return out.catch((e: unknown) => {
            errors.inc({ operation: String(prop) });
            throw e;
          });
          return out;
        };
      },
    });
  }
}
