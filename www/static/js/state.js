// What the page shows: the last report and what it was made from, and the chosen rules.

export const state = { report: null, config: null, token: "", boundaries: [], lastTick: 0 };

/** The chosen rules: "any_jwt", "edge_sts" or "config". */
export const profile = () => document.querySelector('input[name="profile"]:checked')?.value || "any_jwt";
