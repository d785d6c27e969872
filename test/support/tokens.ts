/** Token crafting for tests: well-formed tokens through jose, hostile ones byte by byte. Runs in workerd and Node. */
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

const encoder = new TextEncoder();

/** base64url without padding, of a string (UTF-8) or bytes. */
export function b64url(input: string | Uint8Array): string {
  const bytes = typeof input === 'string' ? encoder.encode(input) : input;
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

const HMAC_HASH: Record<string, string> = { HS256: 'SHA-256', HS384: 'SHA-384', HS512: 'SHA-512' };

/** A token from raw header and payload JSON texts (so they can repeat names or say `1e400`), HMAC-signed. */
export async function rawHmacToken(headerJson: string, payloadJson: string, secret: string | Uint8Array, alg = 'HS256'): Promise<string> {
  const signingInput = `${b64url(headerJson)}.${b64url(payloadJson)}`;
  const key = await crypto.subtle.importKey('raw', typeof secret === 'string' ? encoder.encode(secret) : secret, { name: 'HMAC', hash: HMAC_HASH[alg]! }, false, ['sign']);
  const signature = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(signingInput)));
  return `${signingInput}.${b64url(signature)}`;
}

/** A token from raw header and payload JSON texts, signed with an asymmetric private key for `alg`. */
export async function rawSignedToken(headerJson: string, payloadJson: string, privateKey: CryptoKey, alg: string): Promise<string> {
  const signingInput = `${b64url(headerJson)}.${b64url(payloadJson)}`;
  const params: { name: string; hash?: string; saltLength?: number } =
    alg.startsWith('RS') ? { name: 'RSASSA-PKCS1-v1_5' }
    : alg.startsWith('PS') ? { name: 'RSA-PSS', saltLength: Number(alg.slice(2)) / 8 }
    : alg.startsWith('ES') ? { name: 'ECDSA', hash: `SHA-${alg.slice(2)}` }
    : { name: 'Ed25519' };
  const signature = new Uint8Array(await crypto.subtle.sign(params, privateKey, encoder.encode(signingInput)));
  return `${signingInput}.${b64url(signature)}`;
}

export interface TestKey {
  alg: string;
  kid: string;
  privateKey: CryptoKey;
  /** The public key as a JWK with kid, alg and use, as a key server would publish it. */
  publicJwk: JWK;
}

/** A fresh key pair for `alg`, with its public JWK. */
export async function testKey(alg: string, kid: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, publicJwk };
}

/** Standard claims around `nowSeconds`, overridable. */
export function claimsAt(nowSeconds: number, overrides: JWTPayload = {}): JWTPayload {
  return { sub: 'alice', iat: nowSeconds, exp: nowSeconds + 600, ...overrides };
}

/** A well-formed HMAC token through jose. */
export async function hmacToken(payload: JWTPayload, secret: string, header: { alg?: string; kid?: string; typ?: string } = {}): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', ...header }).sign(encoder.encode(secret));
}

/** A well-formed token signed with a test key through jose. */
export async function signedToken(payload: JWTPayload, key: TestKey, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, ...header }).sign(key.privateKey);
}
