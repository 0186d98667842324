// Copy buttons.

/** Copies `text`; the button says so (or, without clipboard access, selects `fallback`). */
export async function copyText(text, button, fallback) {
  button.dataset.label ??= button.textContent;
  const label = button.dataset.label;
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch {
    if (fallback) fallback.select();
    button.textContent = fallback ? "Selected: Ctrl+C" : "Copy failed";
  }
  setTimeout(() => (button.textContent = label), 1500);
}
