// Segments. On the list: each segment's count, one at a time once the page is shown. In the
// editor: the query box and the visual builder stay in sync through the preview endpoint
// (text -> JSON -> builder; builder -> JSON -> canonical text), and the live count and a
// sample of matching contacts follow every pause in typing.
(() => {
  "use strict";
  const DEBOUNCE_MS = 300;
  const numbers = new Intl.NumberFormat("en-US");
  const csrf = document.querySelector('meta[name="csrf-token"]');

  async function ask(url, payload) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        Accept: "application/json",
        "Content-Type": "application/json",
        "X-CSRFToken": csrf ? csrf.content : "",
      },
      body: JSON.stringify(payload),
    });
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    if (!body || (!response.ok && !body.error)) {
      throw new Error(`HTTP ${response.status}`);
    }
    return body;
  }

  function contacts(count) {
    return `${numbers.format(count)} contact${count === 1 ? "" : "s"}`;
  }

  // The list: counts load one after another so a long list never floods the database.
  const table = document.getElementById("segments");
  if (table) {
    (async () => {
      for (const cell of table.querySelectorAll("[data-segment-count]")) {
        try {
          const body = await ask(table.dataset.previewUrl, {
            segment: Number(cell.dataset.segmentCount), sample: false,
          });
          cell.textContent = body.error ? "—" : numbers.format(body.count);
          if (body.error) {
            cell.title = body.error.message;
          }
        } catch (error) {
          cell.textContent = "—";
        }
      }
    })();
  }

  const editor = document.getElementById("segment-editor");
  if (!editor) {
    return;
  }
  const FIELDS = JSON.parse(editor.dataset.fields);
  const BY_NAME = new Map(FIELDS.map((field) => [field.name, field]));
  const NAMED = { tag: "Has the tag", group: "Is in the group" };
  const NO_VALUE = new Set(["is empty", "is not empty"]);
  const LISTS = new Set(["in", "not in"]);
  const DAY_OPS = new Set(["=", "!=", ">", ">=", "<", "<=", "between"]);
  const previewUrl = editor.dataset.previewUrl;
  const textBox = document.getElementById("text");
  const textError = document.getElementById("text-error");
  const canonical = document.getElementById("text-canonical");
  const builderBox = document.getElementById("segment-builder");
  const builderError = document.getElementById("builder-error");
  const countBox = document.getElementById("segment-count");
  const statusBox = document.getElementById("segment-status");
  const sampleBox = document.getElementById("segment-sample");
  const form = document.getElementById("segment-form");

  // ---- The builder's model: groups (all/any), nots and conditions (tag and group included).
  let nextId = 1;
  function groupNode(mode = "all", children = []) {
    return { kind: "group", id: nextId++, mode, children };
  }
  function notNode(child) {
    return { kind: "not", id: nextId++, child };
  }
  function conditionNode(field = "") {
    return {
      kind: "condition", id: nextId++, field, key: "", window: "", op: "", value: "",
      list: [], low: "", high: "",
    };
  }

  function shown(value) {
    return value === null || value === undefined ? "" : String(value);
  }

  function fromRules(rule) {
    if (rule.all || rule.any) {
      const mode = rule.all ? "all" : "any";
      return groupNode(mode, rule[mode].map(fromRules));
    }
    if ("not" in rule) {
      return notNode(fromRules(rule.not));
    }
    if ("tag" in rule || "group" in rule) {
      const kind = "tag" in rule ? "tag" : "group";
      return Object.assign(conditionNode(kind), { value: rule[kind] });
    }
    const node = conditionNode();
    const written = rule.field;
    const call = /^([A-Za-z_][\w.]*)\((.*)\)$/.exec(written);
    const base = written.split(".")[0];
    if (BY_NAME.has(written)) {
      node.field = written;
    } else if (call && BY_NAME.has(call[1])) {
      node.field = call[1];
      node.window = call[2];
    } else if (BY_NAME.has(base) && BY_NAME.get(base).param === "key") {
      node.field = base;
      node.key = written.slice(base.length + 1);
    } else {
      node.field = written;
    }
    node.op = rule.op;
    const value = rule.value;
    if (Array.isArray(value) && node.op === "between") {
      node.low = shown(value[0]);
      node.high = shown(value[1]);
    } else if (Array.isArray(value)) {
      node.list = value.map(shown);
      node.value = node.list.join(", ");
    } else {
      node.value = shown(value);
    }
    return node;
  }

  function asRoot(node) {
    return node.kind === "group" ? node : groupNode("all", [node]);
  }

  function join(path, key) {
    return path ? `${path}.${key}` : key;
  }

  // The JSON of the complete parts; unfinished rows and empty groups are left out, and
  // ``marks`` maps each part's JSON path to its node so an error can point at its row.
  function toRules(node, path, marks) {
    marks.set(path, node);
    if (node.kind === "group") {
      const items = [];
      for (const child of node.children) {
        const rule = toRules(child, `${join(path, node.mode)}[${items.length}]`, marks);
        if (rule) {
          items.push(rule);
        }
      }
      return items.length ? { [node.mode]: items } : null;
    }
    if (node.kind === "not") {
      const inner = toRules(node.child, join(path, "not"), marks);
      return inner ? { not: inner } : null;
    }
    if (node.field in NAMED) {
      return node.value.trim() ? { [node.field]: node.value.trim() } : null;
    }
    const field = BY_NAME.get(node.field);
    if (!field || !node.op) {
      return null;
    }
    let name = field.name;
    if (field.param === "key") {
      if (!node.key.trim()) {
        return null;
      }
      name = `${field.name}.${node.key.trim()}`;
    } else if (field.param === "window") {
      if (!node.window.trim()) {
        return null;
      }
      name = `${field.name}(${node.window.trim()})`;
    }
    const rule = { field: name, op: node.op };
    if (NO_VALUE.has(node.op)) {
      return rule;
    }
    if (node.op === "between") {
      if (!node.low.trim() || !node.high.trim()) {
        return null;
      }
      rule.value = [node.low.trim(), node.high.trim()];
    } else if (LISTS.has(node.op)) {
      const items = field.type === "enum" ? node.list
        : node.value.split(",").map((item) => item.trim()).filter(Boolean);
      if (!items.length) {
        return null;
      }
      rule.value = items;
    } else {
      if (!node.value.trim()) {
        return null;
      }
      rule.value = field.type === "boolean" ? node.value === "true" : node.value.trim();
    }
    return rule;
  }

  // ---- Drawing the builder with DOM calls (no HTML strings: values are typed by staff).
  function el(tag, attributes = {}, children = []) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (name === "text") {
        element.textContent = value;
      } else if (value !== false && value !== null && value !== undefined) {
        element.setAttribute(name, value === true ? "" : value);
      }
    }
    element.append(...children);
    return element;
  }

  function button(label, text, cls, onClick) {
    const element = el("button", { type: "button", class: cls, "aria-label": label, text });
    element.addEventListener("click", onClick);
    return element;
  }

  function select(id, label, options, value, cls = "form-select form-select-sm") {
    const element = el("select", { id, class: cls, "aria-label": label });
    for (const option of options) {
      if (option.group) {
        const group = el("optgroup", { label: option.group });
        for (const inner of option.options) {
          group.append(el("option", { value: inner.value, title: inner.title, text: inner.text }));
        }
        element.append(group);
      } else {
        element.append(el("option", { value: option.value, text: option.text }));
      }
    }
    element.value = value;
    return element;
  }

  function input(id, label, value, attributes, onInput) {
    const element = el("input", {
      id, class: "form-control form-control-sm segment-value", "aria-label": label,
      autocomplete: "off", spellcheck: "false", ...attributes,
    });
    element.value = value;
    element.addEventListener("input", () => {
      onInput(element.value);
      changed();
    });
    return element;
  }

  let root = groupNode();
  let focusAfter = null;

  function parentOf(target, node = root) {
    let children = [];
    if (node.kind === "group") {
      children = node.children;
    } else if (node.kind === "not") {
      children = [node.child];
    }
    for (const child of children) {
      if (child === target) {
        return node;
      }
      const found = parentOf(target, child);
      if (found) {
        return found;
      }
    }
    return null;
  }

  function remove(node) {
    const parent = parentOf(node);
    if (!parent) {
      return;
    }
    if (parent.kind === "not") {
      remove(parent); // a not holds one thing; without it the not means nothing
      return;
    }
    parent.children.splice(parent.children.indexOf(node), 1);
    restructured(null);
  }

  function fieldOptions() {
    const groups = new Map();
    for (const field of FIELDS) {
      if (!groups.has(field.group)) {
        groups.set(field.group, []);
      }
      groups.get(field.group).push({ value: field.name, text: field.name, title: field.label });
    }
    const options = [{ value: "", text: "Choose a field…" }];
    for (const [group, inner] of groups) {
      options.push({ group, options: inner });
    }
    options.push({
      group: "Tags and groups",
      options: Object.entries(NAMED).map(
        ([value, text]) => ({ value, text: `${value}:`, title: text })),
    });
    return options;
  }
  const FIELD_OPTIONS = fieldOptions();

  function valueInputs(node, field) {
    const id = `sb-${node.id}`;
    const op = node.op;
    if (NO_VALUE.has(op)) {
      return [];
    }
    const choices = (values) => values.map((value) => ({ value, text: value }));
    if (field.type === "enum" && LISTS.has(op)) {
      const multi = select(`${id}-value`, "Values", choices(field.allowed), "",
        "form-select form-select-sm segment-value");
      multi.multiple = true;
      multi.size = Math.min(6, field.allowed.length);
      for (const option of multi.options) {
        option.selected = node.list.includes(option.value);
      }
      multi.addEventListener("change", () => {
        node.list = [...multi.selectedOptions].map((option) => option.value);
        changed();
      });
      return [multi];
    }
    if (field.type === "enum" || field.type === "boolean") {
      const values = field.type === "enum" ? field.allowed : ["true", "false"];
      const single = select(`${id}-value`, "Value",
        [{ value: "", text: "Choose…" }, ...choices(values)], node.value,
        "form-select form-select-sm segment-value");
      single.addEventListener("change", () => {
        node.value = single.value;
        changed();
      });
      return [single];
    }
    const attributes = { type: "text" };
    if (field.type === "date" && DAY_OPS.has(op)) {
      attributes.type = "date";
    } else if (field.type === "date") {
      attributes.placeholder = op === "within" ? "30d, 6w, 12m or 2y" : "2026-01-31 or 30d";
    } else if (field.type === "money" || field.type === "number") {
      attributes.inputmode = "decimal";
      attributes.placeholder = field.type === "money" ? "dollars, e.g. 50" : "e.g. 3";
    } else if (LISTS.has(op)) {
      attributes.placeholder = "values, separated by commas";
    }
    if (op === "between") {
      attributes.class = "form-control form-control-sm segment-value segment-half";
      return [
        input(`${id}-low`, "From", node.low, attributes, (value) => { node.low = value; }),
        el("span", { class: "small text-muted align-self-center", text: "and" }),
        input(`${id}-high`, "To", node.high, attributes, (value) => { node.high = value; }),
      ];
    }
    return [input(`${id}-value`, "Value", node.value, attributes, (value) => {
      node.value = value;
    })];
  }

  function drawCondition(node) {
    const id = `sb-${node.id}`;
    const row = el("div", { class: "segment-condition d-flex flex-wrap gap-2 align-items-start" });
    node.element = row;
    const fieldSelect = select(`${id}-field`, "Field", FIELD_OPTIONS, node.field,
      "form-select form-select-sm segment-field");
    fieldSelect.addEventListener("change", () => {
      const before = BY_NAME.get(node.field);
      node.field = fieldSelect.value;
      const field = BY_NAME.get(node.field);
      if (!field || !before || before.type !== field.type) {
        Object.assign(node, { value: "", list: [], low: "", high: "" });
      }
      if (!field || !field.operators.includes(node.op)) {
        node.op = field ? field.operators[0] : "";
      }
      restructured(`${id}-field`);
    });
    row.append(fieldSelect);
    if (node.field in NAMED) {
      row.append(input(`${id}-value`, node.field === "tag" ? "Tag" : "Group", node.value,
        { type: "text", placeholder: node.field === "tag" ? "union-member" : "Phone bank crew" },
        (value) => { node.value = value; }));
    } else if (BY_NAME.has(node.field)) {
      const field = BY_NAME.get(node.field);
      if (field.param === "key") {
        row.append(input(`${id}-key`, "Custom field name", node.key, {
          type: "text", placeholder: "field name",
          class: "form-control form-control-sm segment-key",
        }, (value) => { node.key = value; }));
      } else if (field.param === "window") {
        row.append(input(`${id}-window`, "Window", node.window, {
          type: "text", placeholder: "365d", class: "form-control form-control-sm segment-key",
        }, (value) => { node.window = value; }));
      }
      const opSelect = select(`${id}-op`, "Operator",
        field.operators.map((op) => ({ value: op, text: op })), node.op,
        "form-select form-select-sm segment-op");
      opSelect.addEventListener("change", () => {
        node.op = opSelect.value;
        restructured(`${id}-op`);
      });
      row.append(opSelect, ...valueInputs(node, field));
    }
    row.append(button("Remove condition", "×", "btn btn-sm btn-outline-secondary ms-auto",
      () => remove(node)));
    return row;
  }

  function firstCondition(node) {
    if (node.kind === "group") {
      return firstCondition(node.children[0]);
    }
    return node.kind === "not" ? firstCondition(node.child) : node;
  }

  function drawGroup(node, isRoot) {
    const id = `sb-${node.id}`;
    const box = el("div", { class: `segment-group${isRoot ? " segment-root" : ""}` });
    node.element = box;
    const mode = select(`${id}-mode`, "Match", [
      { value: "all", text: "All of these" }, { value: "any", text: "Any of these" },
    ], node.mode, "form-select form-select-sm w-auto");
    mode.addEventListener("change", () => {
      node.mode = mode.value;
      changed();
    });
    const head = el("div", { class: "d-flex align-items-center gap-2 mb-2" }, [mode]);
    if (!isRoot) {
      head.append(button("Remove group", "×", "btn btn-sm btn-outline-secondary ms-auto",
        () => remove(node)));
    }
    const children = el("div", { class: "segment-children" },
      node.children.map((child) => draw(child)));
    if (isRoot && !node.children.length) {
      children.append(el("p", {
        class: "small text-muted mb-2", text: "No conditions yet: add one, or type a query above.",
      }));
    }
    const add = (label, text, make) => button(label, text, "btn btn-sm btn-outline-primary", () => {
      const child = make();
      node.children.push(child);
      restructured(`sb-${firstCondition(child).id}-field`);
    });
    const actions = el("div", { class: "d-flex flex-wrap gap-2" }, [
      add("Add condition", "+ Condition", () => conditionNode()),
      add("Add group", "+ Group (all / any)", () => groupNode("any", [conditionNode()])),
      add("Add not", "+ Not", () => notNode(groupNode("all", [conditionNode()]))),
    ]);
    box.append(head, children, actions);
    return box;
  }

  function drawNot(node) {
    const box = el("div", { class: "segment-not" });
    node.element = box;
    box.append(
      el("div", { class: "d-flex align-items-center gap-2 mb-2" }, [
        el("span", { class: "badge text-bg-danger", text: "NOT" }),
        el("span", { class: "small text-muted", text: "leaves out everyone this matches" }),
        button("Remove not", "×", "btn btn-sm btn-outline-secondary ms-auto", () => remove(node)),
      ]),
      draw(node.child),
    );
    return box;
  }

  function draw(node, isRoot = false) {
    if (node.kind === "group") {
      return drawGroup(node, isRoot);
    }
    return node.kind === "not" ? drawNot(node) : drawCondition(node);
  }

  function render() {
    builderBox.replaceChildren(draw(root, true));
    if (focusAfter) {
      const target = document.getElementById(focusAfter);
      focusAfter = null;
      if (target) {
        target.focus();
      }
    }
  }

  // ---- Asking the server, and showing its answer.
  let timer = null;
  let pending = null;
  let asked = 0;
  let builderAhead = false; // the builder changed and the query box does not say so yet

  function schedule(source) {
    pending = source;
    window.clearTimeout(timer);
    statusBox.textContent = "Counting…";
    timer = window.setTimeout(() => refresh(), DEBOUNCE_MS);
  }

  function changed() {
    builderAhead = true;
    schedule("builder");
  }

  function restructured(focusId) {
    focusAfter = focusId;
    render();
    changed();
  }

  function showIdle() {
    countBox.textContent = "—";
    statusBox.textContent = "Type a query or add a condition.";
    sampleBox.replaceChildren();
  }

  function clearErrors() {
    textBox.classList.remove("is-invalid");
    textBox.removeAttribute("aria-invalid");
    textError.replaceChildren();
    builderError.replaceChildren();
    for (const marked of builderBox.querySelectorAll(".segment-invalid")) {
      marked.classList.remove("segment-invalid");
    }
  }

  function showError(source, error, marks) {
    countBox.textContent = "—";
    statusBox.textContent = "Fix the query to see a count.";
    sampleBox.replaceChildren();
    if (source === "text") {
      textBox.classList.add("is-invalid");
      textBox.setAttribute("aria-invalid", "true");
      const parts = [el("span", { class: "segment-error-message", text: error.message })];
      if (error.caret !== undefined) {
        parts.push(el("pre", { class: "segment-pointer mb-0" },
          [el("code", { text: `${error.line}\n${error.caret}` })]));
      }
      textError.replaceChildren(...parts);
      canonical.hidden = true;
      return;
    }
    builderError.textContent = error.message;
    // The longest JSON path that names a part of the builder is the row at fault.
    let path = String(error.position);
    while (path && !marks.has(path)) {
      const shorter = path.replace(/(\.[^.[\]]+|\[\d+\])$/, "");
      path = shorter === path ? "" : shorter;
    }
    const node = marks.get(path);
    if (node && node.element) {
      node.element.classList.add("segment-invalid");
    }
  }

  function showResult(body) {
    countBox.textContent = contacts(body.count);
    const items = body.sample.map((contact) => el("li", { class: "mb-1" }, [
      el("a", { href: contact.url, text: contact.name }),
      el("div", { class: "small text-muted text-truncate", text: contact.email }),
    ]));
    sampleBox.replaceChildren(...items);
    if (!body.count) {
      statusBox.textContent = "Nobody matches yet.";
    } else if (body.count > body.sample.length) {
      statusBox.textContent = `The ${body.sample.length} added most recently:`;
    } else {
      statusBox.textContent = "All of them:";
    }
  }

  async function refresh() {
    window.clearTimeout(timer);
    timer = null;
    const source = pending;
    pending = null;
    const marks = new Map();
    asked += 1; // an answer to any earlier question is stale from here on
    let payload;
    if (source === "text") {
      if (!textBox.value.trim()) {
        clearErrors();
        canonical.hidden = true;
        root = groupNode();
        render();
        showIdle();
        return true;
      }
      payload = { text: textBox.value };
    } else {
      const rules = toRules(root, "", marks);
      if (!rules) {
        clearErrors();
        textBox.value = "";
        canonical.hidden = true;
        builderAhead = false;
        showIdle();
        return true;
      }
      payload = { rules };
    }
    const mine = asked;
    let body;
    try {
      body = await ask(previewUrl, payload);
    } catch (error) {
      if (mine === asked) {
        statusBox.textContent = "Could not count just now; reload the page to try again.";
      }
      return false;
    }
    if (mine !== asked) {
      return false; // a newer question is on its way
    }
    clearErrors();
    if (body.error) {
      showError(source, body.error, marks);
      return false;
    }
    showResult(body);
    builderAhead = false;
    if (source === "text") {
      root = asRoot(fromRules(body.rules));
      render();
      canonical.hidden = body.text === textBox.value.trim();
      canonical.querySelector("code").textContent = body.text;
    } else {
      textBox.value = body.text;
      canonical.hidden = true;
    }
    return true;
  }

  textBox.addEventListener("input", () => schedule("text"));
  // Enter in a builder field would submit the form; it means nothing there.
  builderBox.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.tagName === "INPUT") {
      event.preventDefault();
    }
  });
  if (form) {
    form.addEventListener("submit", async (event) => {
      if (!builderAhead) {
        return;
      }
      // The query box must say what the builder says before it is saved.
      event.preventDefault();
      pending = "builder";
      if (await refresh()) {
        form.submit();
      }
    });
  }

  render();
  if (textBox.value.trim()) {
    pending = "text";
    refresh();
  }
})();
