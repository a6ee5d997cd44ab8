// Live parts of the inbox: SLA countdowns, and refreshing the queue or the thread when the
// server's event stream says they changed (no reload, no lost draft).
"use strict";

function formatSpan(seconds) {
  const sign = seconds < 0 ? "-" : "";
  seconds = Math.abs(Math.round(seconds));
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = seconds % 60;
  return hours ? `${sign}${hours} h ${minutes} min` : `${sign}${minutes}:${String(rest).padStart(2, "0")}`;
}

function tick() {
  const now = Date.now();
  for (const element of document.querySelectorAll("[data-deadline]")) {
    const left = (Date.parse(element.dataset.deadline) - now) / 1000;
    element.textContent = left < 0 ? `overdue ${formatSpan(-left)}` : `${formatSpan(left)} left`;
    element.classList.toggle("late", left < 0);
  }
  for (const element of document.querySelectorAll("[data-since]")) {
    element.textContent = formatSpan((now - Date.parse(element.dataset.since)) / 1000);
  }
}

async function swap(target, url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (response.ok) {
    target.innerHTML = await response.text();
    tick();
  }
}

function listen() {
  const queue = document.querySelector("[data-live-queue]");
  const thread = document.querySelector("[data-live-thread]");
  if (!queue && !thread) return;
  const url = thread ? `/inbox/events?conversation=${encodeURIComponent(thread.dataset.conversation)}` : "/inbox/events";
  const events = new EventSource(url);
  // Every event means "changed since you last heard" (the first of a connection covers the gap
  // since the page was drawn), so each one refreshes its part of the page.
  const onChange = (name, apply) => events.addEventListener(name, apply);
  if (queue) onChange("queue", () => swap(queue, queue.dataset.liveQueue));
  if (thread) onChange("conversation", () => swap(thread, thread.dataset.liveThread));
}

document.addEventListener("DOMContentLoaded", () => {
  tick();
  setInterval(tick, 1000);
  listen();
});
