// SafeGate's service worker: shows an alert notification pushed by the server (its payload
// names the kind of alert and the child, never the child's words) and opens the alerts page.
self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  event.waitUntil(self.registration.showNotification(data.title || "SafeGate", {
    body: data.body || "", tag: data.url || "safegate-alert", data: { url: data.url || "/alerts" },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(clients.openWindow(event.notification.data.url || "/alerts"));
});
