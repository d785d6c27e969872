import { describe, expect, it } from 'vitest';
import { originUrlProblem } from '../../src/control-plane/origin-guard.ts';

const strict = { allowedHosts: [], allowPrivateAddresses: false };

describe('origin URL guard (SSRF)', () => {
  it.each([
    'http://127.0.0.1:8090',
    'http://localhost:8080',
    'http://api.localhost',
    'http://10.0.0.5',
    'http://172.16.0.1',
    'http://172.31.255.255',
    'http://192.168.1.1',
    'http://169.254.169.254/latest/meta-data',
    'http://metadata.google.internal',
    'http://100.64.0.1',
    'http://0.0.0.0',
    'http://2130706433',
    'http://0x7f.0.0.1',
    'http://127.1',
    'http://017700000001',
    'http://[::1]',
    'http://[::ffff:127.0.0.1]',
    'http://[::ffff:a9fe:a9fe]',
    'http://[fd00::1]',
    'http://[fe80::1]',
    'http://224.0.0.1',
    'http://LOCALHOST.',
  ])('refuses %s as non-public', (url) => {
    expect(originUrlProblem(url, strict)).toMatch(/non-public address/);
  });

  it.each(['https://api.example.com', 'http://93.184.216.34:8080/base', 'http://[2606:4700::1111]', 'http://172.32.0.1'])(
    'allows the public %s',
    (url) => {
      expect(originUrlProblem(url, strict)).toBeUndefined();
    },
  );

  it.each([
    ['ftp://example.com', 'expected http or https, got "ftp"'],
    ['file:///etc/passwd', 'expected http or https, got "file"'],
    ['http://user:pass@example.com', 'credentials are not allowed in the URL'],
    ['http://example.com/?x=1', 'query and fragment are not allowed in the URL'],
    ['//example.com', 'expected an absolute http(s) URL'],
  ])('refuses %s: %s', (url, problem) => {
    expect(originUrlProblem(url, strict)).toBe(problem);
  });

  it('allows private addresses when told to (local development)', () => {
    expect(originUrlProblem('http://127.0.0.1:8090', { allowedHosts: [], allowPrivateAddresses: true })).toBeUndefined();
  });

  it('holds registrations to the allowed hosts when there are any', () => {
    const settings = { allowedHosts: ['*.svc.example.com', 'billing.example.com'], allowPrivateAddresses: false };
    expect(originUrlProblem('https://samples.svc.example.com', settings)).toBeUndefined();
    expect(originUrlProblem('https://billing.example.com', settings)).toBeUndefined();
    expect(originUrlProblem('https://svc.example.com', settings)).toMatch(/not in the allowed origin hosts/);
    expect(originUrlProblem('https://evil.example.org', settings)).toMatch(/not in the allowed origin hosts/);
    expect(originUrlProblem('https://samples.svc.example.com.evil.org', settings)).toMatch(/not in the allowed origin hosts/);
  });
});
