// The name the page gives each of the core's checks. Keyed by the core's check ids
// (`inspect::CheckId`, serialised): exactly one label per id, held to the core's list by
// tests/www/check-labels.test.mjs, which imports this module.

export const CHECK_LABELS = {
  size: "Size limit",
  segments: "Three segments (JWS, not JWE)",
  header: "Header decodes (strict base64url + JSON)",
  alg: "Algorithm accepted",
  header_key_refs: "No key references in the header (jku/jwk/x5u/x5c)",
  crit: "No crit extensions",
  enc: "Not encrypted (enc/zip)",
  kid_format: "kid is a string",
  header_typ: "Header typ",
  payload: "Payload decodes (strict base64url + JSON)",
  signature_format: "Signature encoding",
  iss: "Issuer (iss)",
  alg_allowed: "Algorithm allowed for the issuer",
  kid: "Key selection (kid)",
  key_binding: "Algorithm / key binding",
  signature: "Signature",
  claim_types: "Registered claims have their types",
  exp: "Expiry (exp)",
  nbf: "Not before (nbf)",
  iat: "Issued at (iat)",
  lifetime: "Lifetime",
  aud: "Audience (aud)",
  typ: "Payload typ",
  cnf: "Not bound to a key (cnf)",
  sub: "Subject (sub)",
  required_claims: "Required claims",
  client_id: "Service-account token and its client (client_id / clientId)",
};
