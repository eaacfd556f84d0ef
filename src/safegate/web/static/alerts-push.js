// The alerts page's "allow notifications on this browser": registers the service worker,
// subscribes with the server's VAPID key and stores the subscription for this account.
(function () {
  const button = document.getElementById("push-subscribe");
  const state = document.getElementById("push-state");
  if (!button || !("serviceWorker" in navigator) || !("PushManager" in window)) { return; }
  button.hidden = false;
  function key(b64) {
    const pad = "=".repeat((4 - (b64.length % 4)) % 4);
    const raw = atob((b64 + pad).replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  }
  button.addEventListener("click", async () => {
    try {
      const csrf = button.dataset.csrf;
      const reg = await navigator.serviceWorker.register("/static/alerts-sw.js");
      const answer = await fetch("/api/v1/push/key", { credentials: "same-origin" });
      const vapid = (await answer.json()).key;
      const sub = await reg.pushManager.subscribe({ userVisibleOnly: true,
                                                    applicationServerKey: key(vapid) });
      const saved = await fetch("/api/v1/push/subscriptions", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(sub.toJSON()) });
      state.textContent = saved.ok ? "✓" : "✗ " + saved.status;
      if (saved.ok) { document.getElementById("n-push").checked = true; }
    } catch (err) {
      state.textContent = "✗ " + err;
    }
  });
})();
