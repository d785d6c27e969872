/** @module Bench floor: forward to the origin and return its response, nothing else. */
export default {
  fetch(request: Request, env: { ORIGIN: string }): Promise<Response> {
    const url = new URL(request.url);
    return fetch(env.ORIGIN + url.pathname + url.search, request);
  },
};
