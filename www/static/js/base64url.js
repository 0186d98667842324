// base64url (RFC 4648 section 5): bytes to unpadded text, and text back to bytes.

export function b64uBytes(s) {
  const t = s.replace(/-/g, "+").replace(/_/g, "/");
  if (/[^A-Za-z0-9+/=]/.test(t)) throw new Error("not base64url");
  const bin = atob(t + "===".slice((t.length + 3) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export const b64u = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
export const b64uText = (s) => b64u(new TextEncoder().encode(s));
