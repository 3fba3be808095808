/**
 * 405 for a path that exists with other methods (RFC 9110 §15.5.6): fastify alone would answer
 * 404, which tells a WHIP client or a script that the resource is gone rather than misused.
 */
import type { FastifyInstance, RouteOptions } from 'fastify';
import { AvlocError } from '../errors.ts';
import { pathOf } from './error-handler.ts';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

/**
 * Records every route added to `app` from now on; the returned plugin, registered after all of
 * them, adds the missing methods of each path as routes that answer METHOD_NOT_ALLOWED with Allow.
 */
export function methodNotAllowed(app: FastifyInstance): (scope: FastifyInstance) => Promise<void> {
  const byUrl = new Map<string, Set<string>>();
  const record = (route: RouteOptions): void => {
    if (route.url.includes('*')) return;   // wildcards (the viewer's files) stand for every path, not this one
    const have = byUrl.get(route.url) ?? new Set<string>();
    for (const m of [route.method].flat()) have.add(m.toUpperCase());
    if (have.has('GET')) have.add('HEAD');   // fastify answers HEAD wherever there is a GET
    byUrl.set(route.url, have);
  };
  app.addHook('onRoute', record);
  return async (scope) => {
    for (const [url, have] of [...byUrl]) {
      const missing = METHODS.filter((m) => !have.has(m));
      if (missing.length === 0) continue;
      const allow = [...have].join(', ');
      scope.route({
        method: [...missing],
        url,
        // onRequest, before fastify reads (or refuses) a body the route would never look at.
        onRequest: async (request, reply) => {
          reply.header('allow', allow);
          throw new AvlocError('METHOD_NOT_ALLOWED', `${request.method} not allowed on ${pathOf(request.url)}`);
        },
        handler: async () => undefined,
      });
    }
  };
}
