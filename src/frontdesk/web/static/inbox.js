// Live parts of the inbox: SLA countdowns, refreshing the queue or the thread when the
// server's event stream says they changed (no reload, no lost draft), and "Use this answer".
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

// "Use this answer" next to a section of a knowledge draft puts that section's answer in the
// reply box. Another section than the draft's is not the bot's draft sent: the outcome shows
// "rewrote the answer" (the server records it so whatever is chosen, see web/answers.py).
function useAnswer(event) {
  const button = event.target.closest("button[data-use-answer]");
  const answer = document.getElementById("answer");
  if (!button || !answer) return;
  answer.value = button.dataset.useAnswer;
  document.getElementById("answer-section").value = button.dataset.section;
  const outcome = document.getElementById("outcome");
  if (outcome && outcome.value !== "wrong_intent") {
    outcome.value = "drafted" in button.dataset ? "" : "rewritten";
  }
  const from = document.getElementById("answer-from");
  if (from) from.textContent = `Filled in from “${button.dataset.heading}”; edit before sending.`;
  answer.focus();
  answer.setSelectionRange(0, 0);
  answer.scrollTop = 0;
}

document.addEventListener("click", useAnswer);

document.addEventListener("DOMContentLoaded", () => {
  tick();
  setInterval(tick, 1000);
  listen();
});
