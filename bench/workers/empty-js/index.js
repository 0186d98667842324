// The runtime's own ceiling: a JS worker that does nothing.
export default {
  async fetch(request) {
    if (request.method === "POST") await request.arrayBuffer();
    return new Response('{"ok":true}', { headers: { "content-type": "application/json" } });
  },
};
