/**
 * Who is acting, from where: carried through one request's async work (AsyncLocalStorage),
 * so events and audit entries name the actor without every service method taking it as a
 * parameter. Work outside a request (scheduled retention, sweeps) runs as `system`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface Actor {
  /** Token id; null for ADMIN_TOKEN, anonymous callers and the server itself. */
  id: number | null;
  /** Token name (never the token), `anonymous` or `system`. */
  name: string;
}

export interface RequestContext {
  actor: Actor;
  clientIp: string;
  /** What the client used to reach us (or BASE_URL): event payloads carry absolute URLs. */
  baseUrl: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

export const SYSTEM_ACTOR: Actor = { id: null, name: 'system' };

export function runWithContext<T>(ctx: RequestContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}

export function currentActor(): Actor {
  return storage.getStore()?.actor ?? SYSTEM_ACTOR;
}
