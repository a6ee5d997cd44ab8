// frontdesk chat widget: <script src="https://support.example.com/widget.js" async></script>
// Adds a chat button to the host page; the chat itself runs in a frame served by frontdesk, so
// the conversation (kept in that origin's storage) survives reloads of the host page.
(function () {
  "use strict";
  if (window.__frontdeskWidget) return;
  window.__frontdeskWidget = true;
  const script = document.currentScript;
  const origin = new URL(script.src).origin;
  const label = (script && script.dataset.label) || "Chat with us";

  const button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", "frontdesk-chat");
  button.style.cssText = "position:fixed;right:20px;bottom:20px;z-index:2147483646;padding:12px 18px;" +
    "border:0;border-radius:24px;background:#2454d6;color:#fff;font:600 15px system-ui,sans-serif;" +
    "box-shadow:0 4px 14px rgba(0,0,0,.2);cursor:pointer";

  const frame = document.createElement("iframe");
  frame.id = "frontdesk-chat";
  frame.title = "Customer service chat";
  frame.src = origin + "/?embed=1";
  frame.hidden = true;
  frame.style.cssText = "position:fixed;right:20px;bottom:76px;z-index:2147483647;width:370px;" +
    "height:540px;max-height:calc(100vh - 100px);max-width:calc(100vw - 40px);border:1px solid #e5e7eb;" +
    "border-radius:12px;background:#fff;box-shadow:0 8px 30px rgba(0,0,0,.25)";

  const OPEN_KEY = "frontdesk-widget-open";
  function show(open) {
    frame.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    try { sessionStorage.setItem(OPEN_KEY, open ? "1" : ""); } catch (error) { /* storage off */ }
  }
  button.addEventListener("click", () => show(frame.hidden));

  function mount() {
    document.body.append(frame, button);
    let wasOpen = false;
    try { wasOpen = sessionStorage.getItem(OPEN_KEY) === "1"; } catch (error) { /* storage off */ }
    show(wasOpen);
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
