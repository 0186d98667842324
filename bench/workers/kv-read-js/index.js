// What one KV read costs a JS Worker's first request (`bench/first-request.mjs parts`): the empty JS
// Worker plus one `get` of a key nobody wrote, so the Miniflare KV emulator's own start-up can be
// told apart from edge-sts's work.
export default {
  async fetch(request, env) {
    if (request.method === "POST") await request.arrayBuffer();
    const v = await env.JWKS_CACHE.get("absent");
    return new Response(JSON.stringify({ ok: v === null }), { headers: { "content-type": "application/json" } });
  },
};
