/** @module The admin API's check of an origin URL before it enters the registry (SSRF), as a 400 problem naming the field. */
import { originUrlProblem, pointsAtGateway } from '../control-plane/origin-guard.ts';
import type { AppEnv } from '../env.ts';
import { GatewayError } from '../errors/problem.ts';

function invalidRequest(path: string, message: string): GatewayError {
  return new GatewayError('invalid-request', { count: 1 }, { extensions: { errors: [{ path, message }] } });
}

/**
 * Refuses origin URLs the control plane's guard does not allow (SSRF), and URLs of the gateway itself as the admin
 * request reached it (a forwarding loop: see pointsAtGateway).
 */
export function guardOrigin(
  c: { get: (key: 'gateway') => AppEnv['Variables']['gateway']; req: { url: string } },
  url: string,
  path = 'url',
): void {
  const { allowedOriginHosts, allowPrivateOriginAddresses } = c.get('gateway').config.gateway.controlPlane;
  const problem = originUrlProblem(url, { allowedHosts: allowedOriginHosts, allowPrivateAddresses: allowPrivateOriginAddresses });
  if (problem) throw invalidRequest(path, problem);
  if (pointsAtGateway(url, c.req.url)) throw invalidRequest(path, 'this is the gateway itself: requests would be forwarded back into it (a loop)');
}
