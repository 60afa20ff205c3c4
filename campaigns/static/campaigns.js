// Campaign pages. Everywhere: the "preview as" picker searches contacts by name or email.
// In the composer: the live preview follows every pause in typing. The unsaved form is
// posted for its JSON (subject, text, what is missing) and into the preview frame, which
// shows the HTML under its own policy (a frame filled from here would block the email's
// inline styles).
(() => {
  "use strict";
  const DEBOUNCE_MS = 500;
  const csrf = document.querySelector('meta[name="csrf-token"]');

  function later(fn, ms) {
    let timer = null;
    return (...args) => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => fn(...args), ms);
    };
  }

  // ---- The picker: suggestions first; typing replaces them with matching contacts.
  const picker = document.querySelector("[data-picker]");
  const select = document.getElementById("preview-contact");
  const search = document.getElementById("preview-search");
  const searchStatus = document.getElementById("preview-search-status");

  function label(person) {
    return `${person.name} <${person.email}>${person.note ? ` — ${person.note}` : ""}`;
  }

  async function find(query) {
    const url = new URL(picker.dataset.peopleUrl, window.location.href);
    url.searchParams.set("q", query);
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) {
      throw new Error(`HTTP ${response.status}`);
    }
    return (await response.json()).people;
  }

  if (picker && select && search) {
    search.addEventListener("input", later(async () => {
      const query = search.value.trim();
      if (!query) {
        searchStatus.textContent = "";
        return;
      }
      try {
        const people = await find(query);
        if (!people.length) {
          searchStatus.textContent = "Nobody matches.";
          return;
        }
        select.replaceChildren(...people.map((person) => new Option(label(person), String(person.id))));
        searchStatus.textContent = `${people.length} found: pick one above.`;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      } catch (error) {
        searchStatus.textContent = "The search failed; try again.";
      }
    }, DEBOUNCE_MS));
    // On a sent or ready campaign the picker is a plain GET form: a choice reloads the page.
    const pageForm = document.getElementById("preview-as");
    if (pageForm) {
      select.addEventListener("change", () => pageForm.requestSubmit());
    }
  }

  // ---- The composer's live preview.
  const form = document.getElementById("composer");
  const frame = document.getElementById("preview-frame");
  if (form && !form.dataset.previewUrl && select && frame && frame.dataset.frameUrl) {
    // Read only (a viewer): the frame shows the saved email as whoever is picked.
    select.addEventListener("change", () => {
      const url = new URL(frame.dataset.frameUrl, window.location.href);
      url.searchParams.set("contact_id", select.value);
      frame.src = url.toString();
    });
  }
  if (!form || !form.dataset.previewUrl) {
    return;
  }
  const refresh = document.getElementById("preview-refresh");
  const status = document.getElementById("preview-status");
  const subject = document.getElementById("preview-subject");
  const text = document.getElementById("preview-text");
  const problems = document.getElementById("preview-problems");
  const labels = JSON.parse(form.dataset.labels || "{}");
  let latest = 0;

  function showProblems(found) {
    const entries = Object.entries(found || {});
    if (!entries.length) {
      const ok = document.createElement("li");
      ok.className = "text-success";
      ok.textContent = "Nothing missing: it can be marked ready.";
      problems.replaceChildren(ok);
      return;
    }
    problems.replaceChildren(...entries.map(([key, message]) => {
      const item = document.createElement("li");
      const name = document.createElement("strong");
      name.textContent = `${labels[key] || key}:`;
      item.append(name, ` ${message}`);
      return item;
    }));
  }

  const audienceBox = document.getElementById("audience-now");
  const numbers = new Intl.NumberFormat("en-US");

  function showAudience(found) {
    if (!audienceBox) {
      return;
    }
    const line = document.createElement("p");
    if (!found) {
      line.className = "mb-0 text-muted";
      line.textContent = "Pick a segment: the audience is counted from it.";
      audienceBox.replaceChildren(line);
      return;
    }
    line.className = "mb-2";
    const big = document.createElement("span");
    big.className = "fs-4 fw-semibold";
    big.id = "audience-subscribed";
    big.textContent = numbers.format(found.subscribed);
    line.append(big, ` subscribed of ${numbers.format(found.total)} in the segment now.`);
    const parts = [line];
    const left = Object.entries(found.excluded || {});
    if (left.length) {
      const note = document.createElement("p");
      note.className = "small mb-2";
      note.textContent = `Left out because of their email status: ${left.map(
        ([reason, n]) => `${numbers.format(n)} ${reason}`).join(", ")}.`;
      parts.push(note);
    }
    audienceBox.replaceChildren(...parts);
  }

  async function update() {
    if (leaving) {
      return;
    }
    const mine = ++latest;
    status.textContent = "Updating…";
    try {
      const response = await fetch(form.dataset.previewUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": csrf ? csrf.content : "" },
        body: new FormData(form),
      });
      if (!response.ok) {
        throw new Error(`HTTP ${response.status}`);
      }
      const body = await response.json();
      if (mine !== latest || leaving) {
        return; // a newer edit is on its way, or the page is being left
      }
      subject.textContent = body.subject;
      text.textContent = body.text;
      showProblems(body.problems);
      showAudience(body.audience);
      if (refresh) {
        form.requestSubmit(refresh);
      }
      status.textContent = body.contact ? `as ${body.contact.name}` : "with example values";
    } catch (error) {
      if (mine === latest) {
        status.textContent = "Could not update the preview; it shows the last version that worked.";
      }
    }
  }

  let timer = null;
  let leaving = false;
  function soon() {
    window.clearTimeout(timer);
    if (!leaving) {
      timer = window.setTimeout(update, DEBOUNCE_MS);
    }
  }
  form.addEventListener("input", soon);
  form.addEventListener("change", soon);
  if (select) {
    select.addEventListener("change", soon);  // outside the form element, but part of it
  }
  // Saving or marking ready leaves the page: a preview still waiting would only race it.
  form.addEventListener("submit", (event) => {
    if (event.submitter !== refresh) {
      leaving = true;
      window.clearTimeout(timer);
    }
  });

  // Variables: insert at the cursor in the body.
  const body = document.getElementById("body");
  document.querySelectorAll("[data-insert]").forEach((button) => {
    button.addEventListener("click", () => {
      const snippet = button.dataset.insert;
      const start = body.selectionStart ?? body.value.length;
      const end = body.selectionEnd ?? start;
      body.setRangeText(snippet, start, end, "end");
      body.focus();
      body.dispatchEvent(new Event("input", { bubbles: true }));
    });
  });

  update();
})();
