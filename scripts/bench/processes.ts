/**
 * @module What `npm run bench` and `npm run load` both start: the workerd that wrangler runs, nginx as origin, and
 * the child processes they must not leave behind.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** The workerd that wrangler runs, so the figures are those of the runtime `npm start` uses. */
const wranglerRequire = createRequire(createRequire(import.meta.url).resolve('wrangler/package.json'));
export const WORKERD = join(wranglerRequire.resolve('workerd/package.json'), '..', 'bin', 'workerd');

/** Every process started, in order (nginx first), killed when the script exits. */
export const children: ChildProcess[] = [];
process.on('exit', () => children.forEach((child) => child.kill('SIGKILL')));

/** Exits with a clear message when `command` (a Debian package of the same name) is not installed. */
export function need(command: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
  } catch {
    console.error(`${command} is not installed: apt-get install -y ${command}`);
    process.exit(2);
  }
}

/** Polls until `url` answers at all (bounded), for processes that give no readiness signal. */
export async function waitForHttp(url: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`${url} did not come up`);
}

/** nginx on 127.0.0.1:`port`, its files under `workDir/nginx`, serving the given `location` blocks. */
export function startNginx(workDir: string, port: number, locations: string): void {
  const dir = join(workDir, 'nginx');
  mkdirSync(join(dir, 'logs'), { recursive: true });
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
worker_processes 1;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${port};
    ${locations}
  }
}
`,
  );
  children.push(spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'inherit' }));
}
