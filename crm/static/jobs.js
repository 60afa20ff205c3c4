// Follow a job on its page: poll the API every second, move the progress bar, and reload
// once the job has finished so the page shows its result.
(() => {
  "use strict";
  const card = document.getElementById("job");
  if (!card) {
    return;
  }
  const FINAL = new Set(["succeeded", "failed", "stopped"]);
  const COLOURS = {
    queued: "text-bg-secondary", running: "text-bg-primary", succeeded: "text-bg-success",
    failed: "text-bg-danger", stopped: "text-bg-warning",
  };
  const url = card.dataset.jobApi;
  const track = document.getElementById("job-progress");
  const bar = track.querySelector(".progress-bar");
  const count = document.getElementById("job-count");
  const message = document.getElementById("job-message");
  const badge = document.getElementById("job-status");
  const numbers = new Intl.NumberFormat("en-US");

  function showPercent(percent) {
    if (percent === null || percent === undefined || percent === "") {
      // Size unknown: a full striped bar that moves, and no value for screen readers.
      bar.style.width = "100%";
      track.removeAttribute("aria-valuenow");
      return;
    }
    const value = Math.max(0, Math.min(100, Number(percent)));
    bar.classList.remove("w-100");
    bar.style.width = `${value}%`;
    track.setAttribute("aria-valuenow", String(value));
  }

  function show(job) {
    showPercent(job.percent);
    if (job.total !== null) {
      count.textContent = `${numbers.format(job.progress)} of ${numbers.format(job.total)} (${job.percent}%)`;
    } else if (job.progress) {
      count.textContent = `${numbers.format(job.progress)} done`;
    }
    message.textContent = job.message;
    if (badge && badge.textContent !== job.status) {
      badge.textContent = job.status;
      badge.className = `badge ${COLOURS[job.status] || "text-bg-secondary"}`;
    }
  }

  showPercent(card.dataset.jobPercent);
  if (FINAL.has(card.dataset.jobStatus)) {
    return;
  }

  async function poll() {
    try {
      const response = await fetch(url, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (response.ok) {
        const job = await response.json();
        show(job);
        if (FINAL.has(job.status)) {
          window.location.reload();
          return;
        }
      } else if (response.status >= 400 && response.status < 500) {
        // Logged out, no longer allowed, or the job is gone: a reload says which.
        message.textContent = "Could not follow this job; reload the page.";
        return;
      }
    } catch (error) {
      // A network blip: try again on the next tick.
    }
    window.setTimeout(poll, 1000);
  }

  window.setTimeout(poll, 1000);
})();
