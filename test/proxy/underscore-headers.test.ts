/**
 * Many origin stacks (CGI, WSGI, Rack, PHP) read `X_User_Id` and `X-User-Id` as the same variable
 * (HTTP_X_USER_ID), so a client's underscore spelling of a reserved header could stand in for, or override, the one
 * the gateway sets. Client copies of reserved headers are dropped in either spelling.
 */
import { describe, expect, inject, it } from 'vitest';
import type { Echo } from '../../scripts/demo-origins.ts';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import { gatewayFor } from '../support/gateway.ts';

const [echo] = inject('echoOrigins');

const config: GatewayConfigInput = {
  services: [{ name: 'echo', routes: [{ pathPrefix: '/echo' }], instances: [{ url: echo! }] }],
};
const send = gatewayFor(config);

describe('reserved request headers spelled with underscores', () => {
  it('drops the client\'s underscore spellings of identity and address headers, and keeps other underscore headers', async () => {
    const response = await send('/echo/x', {
      headers: {
        x_user_id: 'root',
        'x-user_roles': 'admin',
        x_consumer_id: 'someone',
        x_forwarded_for: '6.6.6.6',
        cf_connecting_ip: '6.6.6.6',
        x_real_ip: '6.6.6.6',
        cf_access_jwt_assertion: 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln',
        x_custom_header: 'kept',
      },
    });
    const { headers } = (await response.json()) as Echo;
    for (const name of ['x_user_id', 'x-user_roles', 'x_consumer_id', 'x_forwarded_for', 'cf_connecting_ip', 'x_real_ip', 'cf_access_jwt_assertion']) {
      expect(headers[name], name).toBeUndefined();
    }
    expect(headers.x_custom_header).toBe('kept');
  });
});
