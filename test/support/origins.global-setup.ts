/** Starts real servers in Node for the workerd tests, which cannot open sockets themselves. */
import type { TestProject } from 'vitest/node';
import { closedPortUrl } from './ports.ts';
import { startAuthServer } from './auth-server.ts';
import { startEchoOrigin } from '../../scripts/demo-origins.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    echoOrigins: string[];
    /** A URL nothing listens on: connecting to it fails at once. */
    closedOrigin: string;
    /** Key server and introspection endpoint (test/support/auth-server.ts). */
    authServer: string;
  }
}

export default async function setup(project: TestProject) {
  const origins = await Promise.all(
    ['echo-1', 'echo-2', 'echo-3'].map((instance) => startEchoOrigin({ service: 'echo', instance })),
  );
  const authServer = await startAuthServer();
  project.provide('echoOrigins', origins.map((origin) => origin.url));
  project.provide('closedOrigin', await closedPortUrl());
  project.provide('authServer', authServer.url);
  return async () => {
    await Promise.all([...origins.map((origin) => origin.close()), authServer.close()]);
  };
}
